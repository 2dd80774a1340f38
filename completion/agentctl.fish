# fish completion for agentctl(1), the same commands and options as agentctl.bash (both are
# checked against `agentctl --help` by tests/ship/completion.sh).
# Stack names and deployment ids come from the running agentd (`agentctl --json status`,
# `agentctl --json history`), asked through the agentctl being completed with the command line's
# --socket; when agentd does not answer, they are simply not offered.

# The words of the command line after agentctl up to the cursor, without the global options
# (and --socket's argument): the command, then its arguments.
function __agentctl_words
    set -l tokens (commandline -opc)
    set -e tokens[1]
    while set -q tokens[1]
        switch $tokens[1]
            case --socket
                set -e tokens[1]
            case '-*'
            case '*'
                break
        end
        set -e tokens[1]
    end
    string join \n -- $tokens
end

# True when no command is given yet.
function __agentctl_needs_command
    test -z "$(__agentctl_words)"
end

# __agentctl_at N COMMAND...: the command is one of COMMAND, followed by N positional arguments
# (options and their arguments not counted).
function __agentctl_at
    set -l n $argv[1]
    set -l words (__agentctl_words)
    contains -- "$words[1]" $argv[2..-1]; or return 1
    set -e words[1]
    set -l args 0
    set -l skip 0
    for word in $words
        if test $skip = 1
            set skip 0
            continue
        end
        switch $word
            case --to --limit --semver --regex --order --key --identity --issuer --trusted-root
                set skip 1
            case '-*'
            case '*'
                set args (math $args + 1)
        end
    end
    test $args = $n
end

# __agentctl_fleet_at N SUBCOMMAND...: `fleet SUBCOMMAND` followed by N - 1 arguments.
function __agentctl_fleet_at
    set -l words (__agentctl_words)
    contains -- "$words[2]" $argv[2..-1]; or return 1
    __agentctl_at $argv[1] fleet
end

# Runs the agentctl being completed with the --socket of the command line, if any.
function __agentctl_query
    set -l tokens (commandline -opc)
    set -l socket
    for i in (seq 2 (count $tokens))
        if test "$tokens[$i]" = --socket; and set -q tokens[(math $i + 1)]
            set socket --socket $tokens[(math $i + 1)]
        else if string match -q -- '--socket=*' $tokens[$i]
            set socket --socket (string replace -- --socket= '' $tokens[$i])
        end
    end
    set -l runner
    command -q timeout; and set runner timeout 3
    $runner $tokens[1] $socket --json $argv 2>/dev/null
end

# The "name" fields of `--json status`.
function __agentctl_stacks
    __agentctl_query status | string match -r -a -g '"name" *: *"([^"]*)"'
end

# The "id" fields of `--json history` (of the stack given as $argv[1], if any), the newest 50.
function __agentctl_deployments
    __agentctl_query history $argv --limit 50 | string match -r -a -g '"id" *: *"?([A-Za-z0-9_.-]+)'
end

# The deployments of the stack named after the command (pin, approve, rollback --to).
function __agentctl_stack_deployments
    set -l words (__agentctl_words)
    for word in $words[2..-1]
        if not string match -q -- '-*' $word
            __agentctl_deployments $word
            return
        end
    end
end

complete -c agentctl -f

# Global options, before the command.
complete -c agentctl -n __agentctl_needs_command -s h -l help -d 'print help and exit'
complete -c agentctl -n __agentctl_needs_command -l version -d 'print the version and exit'
complete -c agentctl -n __agentctl_needs_command -l socket -r -F -d "agentd's API socket"
complete -c agentctl -n __agentctl_needs_command -l json -d "print the daemon's JSON document"

# The commands, as `agentctl --help` lists them.
complete -c agentctl -n __agentctl_needs_command -a status -d 'state, current release and last poll per stack'
complete -c agentctl -n __agentctl_needs_command -a history -d 'deployments, newest first'
complete -c agentctl -n __agentctl_needs_command -a show -d 'one deployment with its events'
complete -c agentctl -n __agentctl_needs_command -a sync -d 'poll now (every stack without STACK)'
complete -c agentctl -n __agentctl_needs_command -a watch -d 'follow deployments live'
complete -c agentctl -n __agentctl_needs_command -a rollback -d 'restore the previous (or given) release; pins the stack'
complete -c agentctl -n __agentctl_needs_command -a pin -d "hold a stack at a deployment's release"
complete -c agentctl -n __agentctl_needs_command -a unpin -d 'let a pinned stack deploy new releases again'
complete -c agentctl -n __agentctl_needs_command -a approve -d 'deploy the release waiting for approval'
complete -c agentctl -n __agentctl_needs_command -a retry -d "forget the stack's releases marked bad and poll now"
complete -c agentctl -n __agentctl_needs_command -a diff -d 'what the next deployment would change'
complete -c agentctl -n __agentctl_needs_command -a pause -d 'stop automatic deployments of a stack'
complete -c agentctl -n __agentctl_needs_command -a resume -d 'restart automatic deployments (and unpin)'
complete -c agentctl -n __agentctl_needs_command -a reload -d 'make agentd re-read its configuration file'
complete -c agentctl -n __agentctl_needs_command -a config -d 'configuration files'
complete -c agentctl -n __agentctl_needs_command -a policy -d 'tag policies'
complete -c agentctl -n __agentctl_needs_command -a tags -d "an image's tags in its registry and the one a policy selects"
complete -c agentctl -n __agentctl_needs_command -a verify -d "check an image's cosign signatures as agentd's verify step does"
complete -c agentctl -n __agentctl_needs_command -a fleet -d "the fleet's rollouts, coordinated through etcd"

# Every command's --help.
complete -c agentctl -n 'not __agentctl_needs_command' -s h -l help -d 'print help and exit'

# Stacks and deployments.
set -l stack_commands status history sync watch diff rollback unpin retry pause resume pin approve
complete -c agentctl -n "__agentctl_at 0 $stack_commands" -a '(__agentctl_stacks)' -d stack
complete -c agentctl -n '__agentctl_at 1 pin approve' -a '(__agentctl_stack_deployments)' -d deployment
complete -c agentctl -n '__agentctl_at 0 show' -a '(__agentctl_deployments)' -d deployment

# The commands' own options.
complete -c agentctl -n '__agentctl_at 0 history; or __agentctl_at 1 history' -l limit -x -d 'how many'
complete -c agentctl -n '__agentctl_at 0 sync; or __agentctl_at 1 sync' -l wait -d 'wait for the cycle and print its outcome'
complete -c agentctl -n '__agentctl_at 0 rollback; or __agentctl_at 1 rollback' -l to -x -a '(__agentctl_stack_deployments)' -d 'deployment to restore'

# config check FILE; policy test [--semver|--regex|--order] TAG...; tags IMAGE with the same.
complete -c agentctl -n '__agentctl_at 0 config' -a check -d 'validate a configuration file (offline)'
complete -c agentctl -n '__agentctl_at 1 config' -F
complete -c agentctl -n '__agentctl_at 0 policy' -a test -d 'which tags a policy matches and which wins (offline)'
set -l policy_at '__agentctl_at 0 tags; or __agentctl_at 1 tags; or __agentctl_at 1 policy; or __agentctl_at 2 policy'
complete -c agentctl -n $policy_at -l semver -x -d 'a semver range'
complete -c agentctl -n $policy_at -l regex -x -d 'a regular expression with an optional named group'
complete -c agentctl -n $policy_at -l order -x -a 'alphabetical numerical' -d 'for --regex: the order'

# fleet status [STACK], fleet unhalt STACK, fleet release HOST STACK.
complete -c agentctl -n '__agentctl_at 0 fleet' -a status -d 'hosts updating and queued, halts, hosts done'
complete -c agentctl -n '__agentctl_at 0 fleet' -a unhalt -d "clear a stack's halt"
complete -c agentctl -n '__agentctl_at 0 fleet' -a release -d "free a dead host's slot now"
complete -c agentctl -n '__agentctl_fleet_at 1 status unhalt; or __agentctl_fleet_at 2 release' -a '(__agentctl_stacks)' -d stack

# verify IMAGE with a key or a keyless identity.
set -l verify_at '__agentctl_at 0 verify; or __agentctl_at 1 verify'
complete -c agentctl -n $verify_at -l key -r -F -d 'a PEM public key file'
complete -c agentctl -n $verify_at -l identity -x -d "keyless: the signer's certificate identity"
complete -c agentctl -n $verify_at -l issuer -x -d "keyless: the identity's OIDC issuer"
complete -c agentctl -n $verify_at -l trusted-root -r -F -d 'keyless: a Sigstore trusted_root.json'
