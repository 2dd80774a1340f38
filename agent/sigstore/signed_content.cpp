#include "agent/sigstore/signed_content.h"

#include <fmt/format.h>

namespace agentd::sigstore {

std::string dsse_pae(std::string_view payload_type, std::string_view payload) {
    return fmt::format("DSSEv1 {} {} {} ", payload_type.size(), payload_type, payload.size()) +
           std::string(payload);
}

}  // namespace agentd::sigstore
