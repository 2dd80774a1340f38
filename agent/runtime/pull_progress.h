#pragma once
// How far a pull is, from the Engine's pull stream (POST /images/create answers one JSON object
// per line: per layer "Pulling fs layer", "Downloading" with progressDetail {current, total},
// "Download complete", "Extracting", "Pull complete" or "Already exists"). Pure: fed line by
// line, it sums the layers into one figure per image.

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>

namespace agentd::runtime {

/// One image's pull, summed over its layers. Bytes are the compressed layers' (what is
/// downloaded); a layer counts its total once the stream has said it (so `total` grows while
/// layers start), and a layer already present locally counts as done with no bytes.
struct PullProgress {
    std::string reference;     ///< what is pulled (name@sha256:...)
    std::int64_t current = 0;  ///< bytes downloaded
    std::int64_t total = 0;    ///< bytes of the layers whose size is known
    int layers = 0;            ///< layers the stream named
    int layers_done = 0;       ///< pulled (extracted) or already present
    bool done = false;         ///< the pull ended well; then current == total
};

/// Told of each change of a pull's progress, on the pulling thread.
using PullObserver = std::function<void(const PullProgress&)>;

class PullTracker {
public:
    explicit PullTracker(std::string reference);
    /// Takes one line of the stream; true when the progress changed. Lines that are not a
    /// layer's (the "Pulling from", "Digest:", "Status:" lines, errors, junk) change nothing.
    bool take(std::string_view line);
    /// The pull ended well: every layer named counts as done, downloaded in full.
    void finish();
    const PullProgress& progress() const { return m_progress; }

private:
    struct Layer {
        std::int64_t current = 0;
        std::int64_t total = 0;
        bool downloaded = false;
        bool done = false;
    };
    void sum();

    std::map<std::string, Layer> m_layers;
    PullProgress m_progress;
};

}  // namespace agentd::runtime
