#include "agent/daemon/progress_reporting.h"

namespace agentd::daemon {
namespace {

constexpr std::size_t k_max_description = 160;

std::string shortened(std::string text) {
    if (text.size() > k_max_description) {
        text.resize(k_max_description - 3);
        text += "...";
    }
    return text;
}

}  // namespace

std::string describe_process(const sys::ProcessSpec& spec) {
    std::string out;
    for (const auto& arg : spec.argv) {
        out += (out.empty() ? "" : " ") + arg;
        if (out.size() > k_max_description) {
            break;
        }
    }
    return shortened(std::move(out));
}

std::string describe_request(const sys::HttpRequest& request) {
    std::string url = request.url.substr(0, request.url.find_first_of("?#"));
    const auto scheme = url.find("://");
    if (scheme != std::string::npos) {
        const auto authority = scheme + 3;
        const auto path = url.find('/', authority);
        const auto at = url.rfind('@', path == std::string::npos ? url.size() : path);
        if (at != std::string::npos && at >= authority) {
            url.erase(authority, at + 1 - authority);
        }
    }
    return shortened(request.method + " " + url);
}

}  // namespace agentd::daemon
