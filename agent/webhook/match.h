#pragma once
// Which stacks a webhook event is about: the stacks whose cycle should run at once.
//
// The rule (an extra cycle only costs a poll; a missed one delays a deploy until the next poll,
// so where the event leaves a doubt, the stack is matched):
// - Push or Create of refs/heads/B, to a repository (git_url.h: any spelling): the stacks of
//   that repository following branch B. Stacks following another branch, or tags, are not
//   matched: nothing they deploy moved.
// - Push (TagPush) or Create of refs/tags/T: the stacks of that repository following tags,
//   whether or not T passes their tag policy (the cycle decides that). Branch-following stacks
//   are not matched: a forge sends the branch's own push when it moves.
// - A push of any other ref (refs/notes/..., refs/pull/...): no stack.
// - A deletion is matched like a push: the cycle then sees what is left.
// - Package: the stacks using an image of a repository the event names (registry host and
//   repository compared as Docker normalises them: "nginx", "docker.io/library/nginx" and
//   "index.docker.io/library/nginx" are one repository; lower case).
// - Ping and Other: no stack.
// `dir:` stacks have no repository and are matched by their images only.

#include <string>
#include <vector>

#include "agent/config/config.h"
#include "agent/webhook/event.h"

namespace agentd::webhook {

/// A container image repository as sources::ImageRef gives it.
struct ImageRepository {
    std::string registry;    ///< "registry-1.docker.io", "ghcr.io", "127.0.0.1:5000"
    std::string repository;  ///< "library/nginx", "acme/web"
};

/// What a stack follows, as far as webhooks care.
struct Target {
    enum class Follow { Branch, Tags };
    std::string stack;
    std::string git_url;  ///< empty for `dir:` stacks
    Follow follow = Follow::Branch;
    std::string branch;  ///< the branch followed (Follow::Branch)
    std::vector<ImageRepository> images;
};

/// The target of `stack`: its git source (branch or tags) and the repositories of `images`,
/// the image references its services use ("ghcr.io/acme/web:1.2@sha256:...", as a deployment
/// records them). References that do not parse are left out.
Target target_for(const config::Stack& stack, const std::vector<std::string>& images);

/// The names of the stacks of `targets` that `event` is about, in the order of `targets`.
std::vector<std::string> match(const Event& event, const std::vector<Target>& targets);

}  // namespace agentd::webhook
