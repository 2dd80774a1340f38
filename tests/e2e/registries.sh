#!/bin/bash
# Registries of a scenario's own, with TLS and authentication, as ghcr.io and private registries
# serve them. Sourced after lib.sh, and after e2e_begin (everything lives in $T/registries):
#
#   source "$(dirname "$0")/registries.sh"
#   registries_begin                    # stops everything started here on exit
#   make_test_ca                        # $REG_CA (ca.pem), $REG_TLS_CERT/KEY for 127.0.0.1,
#                                       # $REG_SIGNER_CERT/KEY that sign tokens
#   start_registry open                 # plain HTTP, no auth: what images are pushed to
#   start_registry private tls "htpasswd: {realm: test, path: FILE}"
#   start_token_issuer --users FILE --public "$STACK/public/"
#   push_image_via "$open" "$private" web web:1 "web v1"   # prints the digest
#
# Every registry started here shares one storage directory, so an image pushed to the open one
# is served by all of them, each with its own TLS and auth settings (two registry processes on
# one root directory), without `docker login`. The shared registry of scripts/services is not
# touched.
#
# start_registry sets REG_ADDR (127.0.0.1:PORT); start_token_issuer sets ISSUER_HTTPS and
# ISSUER_HTTP (127.0.0.1:PORT each). The registries' logs are $REG_DIR/NAME.log.

REG_DIR=""
REG_CA=""
REG_TLS_CERT=""
REG_TLS_KEY=""
REG_SIGNER_CERT=""
REG_SIGNER_KEY=""
REG_ADDR=""
ISSUER_HTTPS=""
ISSUER_HTTP=""
# The token's iss and aud, as the registry's `auth: token:` expects them.
readonly REG_TOKEN_ISSUER=agentd-e2e-issuer
readonly REG_TOKEN_SERVICE=agentd-e2e-registry
reg_pids=()
reg_hosts=()

registries_begin() {
    REG_DIR=$T/registries
    mkdir -p "$REG_DIR/storage"
    trap registries_exit EXIT
}

# The EXIT trap: stops agentd, this file's servers and the project's containers, removes the
# images pulled from these registries, then runs lib.sh's cleanup (which keeps the scenario's
# exit status).
registries_exit() {
    local rc=$? ids
    trap - ERR
    set +e
    stop_agentd >/dev/null 2>&1
    if [[ -n "$STACK" ]]; then
        # Before their images can go.
        mapfile -t ids < <(docker ps -aq --filter "label=com.docker.compose.project=$STACK")
        ((${#ids[@]} == 0)) || docker rm -f "${ids[@]}" >/dev/null 2>&1
    fi
    registries_stop
    (exit "$rc")
    e2e_cleanup
}

registries_stop() {
    local pid host ids end
    for pid in "${reg_pids[@]}"; do kill -TERM "$pid" 2>/dev/null; done
    for pid in "${reg_pids[@]}"; do
        end=$((SECONDS + 10))
        while kill -0 "$pid" 2>/dev/null && ((SECONDS < end)); do sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    reg_pids=()
    if [[ -n "$STACK" ]]; then
        for host in "${reg_hosts[@]}"; do
            mapfile -t ids < <(docker images -q --filter "reference=$host/$STACK/*" \
                --filter "reference=$host/$STACK/*/*" | sort -u)
            ((${#ids[@]} == 0)) || docker rmi -f "${ids[@]}" >/dev/null 2>&1
        done
    fi
    reg_hosts=()
}

# ---------------------------------------------------------------------------------------------
# Certificates

# make_test_ca: a CA, a server certificate for 127.0.0.1 (subjectAltName IP:127.0.0.1) signed
# by it, and a token-signing key with a certificate from the same CA. All keys are ECDSA P-256
# (quick to make; tokens are ES256).
make_test_ca() {
    local dir=$REG_DIR/ca
    mkdir -p "$dir"
    REG_CA=$dir/ca.pem
    REG_TLS_CERT=$dir/server.pem
    REG_TLS_KEY=$dir/server.key
    REG_SIGNER_CERT=$dir/signer.pem
    REG_SIGNER_KEY=$dir/signer.key
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
        -subj "/CN=agentd e2e test CA" \
        -keyout "$dir/ca.key" -out "$REG_CA" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
    reg_sign_leaf "$dir" server "/CN=127.0.0.1" \
        "subjectAltName=IP:127.0.0.1
extendedKeyUsage=serverAuth
keyUsage=critical,digitalSignature,keyEncipherment"
    reg_sign_leaf "$dir" signer "/CN=agentd e2e token signer" \
        "keyUsage=critical,digitalSignature"
}

# reg_sign_leaf DIR NAME SUBJECT EXTENSIONS: DIR/NAME.key and DIR/NAME.pem signed by the CA.
reg_sign_leaf() {
    local dir=$1 name=$2 subject=$3 extensions=$4
    printf 'basicConstraints=critical,CA:FALSE\n%s\n' "$extensions" >"$dir/$name.ext"
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "$subject" \
        -keyout "$dir/$name.key" -out "$dir/$name.csr" 2>/dev/null
    openssl x509 -req -in "$dir/$name.csr" -CA "$REG_CA" -CAkey "$dir/ca.key" \
        -CAcreateserial -days 2 -extfile "$dir/$name.ext" -out "$dir/$name.pem" 2>/dev/null
}

# add_htpasswd_user FILE USER PASSWORD: a bcrypt entry, as the registry's htpasswd auth needs.
add_htpasswd_user() {
    htpasswd -Bbn "$2" "$3" | sed '/^$/d' >>"$1"
}

# ---------------------------------------------------------------------------------------------
# Registries and the token issuer

# The registry's /v2/ answers at all (200 open, 401 with a challenge): it is up.
reg_answers() {
    local url=$1 code
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 --cacert "${REG_CA:-/dev/null}" \
        "$url/v2/") || true
    [[ "$code" == 200 || "$code" == 401 ]]
}

# start_registry NAME [tls|http] [AUTH_YAML]: a docker-registry on a free 127.0.0.1 port with
# the shared storage; AUTH_YAML is the value of its `auth:` key (flow style). Sets REG_ADDR.
start_registry() {
    local name=$1 scheme=${2:-http} auth=${3:-}
    local config=$REG_DIR/$name.yml log=$REG_DIR/$name.log port pid tls=""
    if [[ "$scheme" == tls ]]; then
        tls="  tls: {certificate: $REG_TLS_CERT, key: $REG_TLS_KEY}"
    fi
    for _ in 1 2 3 4 5 6 7 8; do
        port=$(closed_port)
        cat >"$config" <<YAML
version: 0.1
log: {level: info, formatter: text, accesslog: {disabled: false}}
storage:
  filesystem: {rootdirectory: $REG_DIR/storage}
  delete: {enabled: true}
http:
  addr: 127.0.0.1:$port
  secret: agentd-e2e-$name
$tls
YAML
        [[ -z "$auth" ]] || printf 'auth: %s\n' "$auth" >>"$config"
        docker-registry serve "$config" </dev/null >>"$log" 2>&1 &
        pid=$!
        local end=$((SECONDS + 15)) up=0
        local url=http://127.0.0.1:$port
        [[ "$scheme" != tls ]] || url=https://127.0.0.1:$port
        while kill -0 "$pid" 2>/dev/null && ((SECONDS < end)); do
            if reg_answers "$url"; then
                up=1
                break
            fi
            sleep 0.1
        done
        if ((up)); then
            reg_pids+=("$pid")
            reg_hosts+=("127.0.0.1:$port")
            # shellcheck disable=SC2034  # read by the scenarios
            REG_ADDR=127.0.0.1:$port
            local mode=anonymous
            [[ "$auth" != *htpasswd:* ]] || mode="htpasswd (Basic)"
            [[ "$auth" != *token:* ]] || mode="token (Bearer)"
            say "registry $name on $url, auth: $mode"
            return 0
        fi
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    tail -n 20 "$log" >&2
    fail "registry $name did not start (log: $log)"
}

# start_token_issuer [token_issuer.py options]: the token service on HTTPS (the test CA's
# server certificate) and plain HTTP, signing with the signer key. Sets ISSUER_HTTPS and
# ISSUER_HTTP.
start_token_issuer() {
    local state=$REG_DIR/issuer.json log=$REG_DIR/issuer.log pid
    rm -f "$state"
    python3 "$E2E_ROOT/tests/e2e/token_issuer.py" --issuer "$REG_TOKEN_ISSUER" \
        --service "$REG_TOKEN_SERVICE" --key "$REG_SIGNER_KEY" --cert "$REG_SIGNER_CERT" \
        --tls-cert "$REG_TLS_CERT" --tls-key "$REG_TLS_KEY" --http --state-file "$state" "$@" \
        </dev/null >>"$log" 2>&1 &
    pid=$!
    reg_pids+=("$pid")
    local end=$((SECONDS + 15))
    until [[ -s "$state" ]]; do
        kill -0 "$pid" 2>/dev/null || fail "the token issuer exited: $(tail -n 20 "$log")"
        ((SECONDS < end)) || fail "the token issuer did not start within 15s (log: $log)"
        sleep 0.1
    done
    ISSUER_HTTPS=127.0.0.1:$(jq -r .https "$state")
    ISSUER_HTTP=127.0.0.1:$(jq -r .http "$state")
    say "token issuer on https://$ISSUER_HTTPS and http://$ISSUER_HTTP"
}

# token_auth_yaml REALM_URL: the registry's `auth:` value for the issuer's tokens.
token_auth_yaml() {
    printf '{token: {realm: "%s", service: %s, issuer: %s, rootcertbundle: %s}}' \
        "$1" "$REG_TOKEN_SERVICE" "$REG_TOKEN_ISSUER" "$REG_CA"
}

# issuer_stats [JQ_FILTER]: the issuer's counters (see token_issuer.py), e.g. issuer_stats .issued
issuer_stats() {
    curl -fsS --max-time 5 --cacert "$REG_CA" "https://$ISSUER_HTTPS/stats" | jq -c "${1:-.}"
}

# ---------------------------------------------------------------------------------------------
# Images

# push_image_via OPEN VARIANT NAME:TAG [TEXT]: builds the variant as tests/images/build does,
# pushes it to the open registry OPEN as OPEN/$STACK/NAME:TAG and prints the digest. Every
# registry of registries_begin then serves it as HOST/$STACK/NAME:TAG (one storage). The local
# copy is removed, so the Docker engine can only pull it from those registries, with the
# credentials agentd hands it.
push_image_via() {
    local open=$1 variant=$2 name=$3 text=${4:-$3} digest
    digest=$(AGENTD_TEST_REGISTRY=$open build_variant "$variant" "$STACK/$name" "$text")
    docker rmi "$open/$STACK/$name" >/dev/null
    echo "$digest"
}
