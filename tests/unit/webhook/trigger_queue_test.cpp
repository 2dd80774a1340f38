#include "agent/webhook/trigger_queue.h"

#include <catch2/catch.hpp>

namespace unit_webhook_trigger_queue_test {

using namespace agentd;
using webhook::TriggerQueue;
using Offer = TriggerQueue::Offer;

TEST_CASE("webhook trigger queue: stacks come out in the order they were asked for",
          "[webhook][trigger_queue]") {
    TriggerQueue queue(8);
    CHECK(queue.offer("shop") == Offer::Queued);
    CHECK(queue.offer("blog") == Offer::Queued);
    CHECK(queue.offer("api") == Offer::Queued);
    CHECK(queue.size() == 3);
    CHECK(queue.take() == std::optional<std::string>("shop"));
    CHECK(queue.take() == std::optional<std::string>("blog"));
    CHECK(queue.take() == std::optional<std::string>("api"));
    CHECK_FALSE(queue.take());
    CHECK(queue.size() == 0);
}

TEST_CASE("webhook trigger queue: a stack already waiting is not queued twice",
          "[webhook][trigger_queue]") {
    TriggerQueue queue(8);
    CHECK(queue.offer("shop") == Offer::Queued);
    CHECK(queue.offer("blog") == Offer::Queued);
    for (int i = 0; i < 1000; ++i) {
        CHECK(queue.offer("shop") == Offer::AlreadyPending);
    }
    CHECK(queue.size() == 2);
    CHECK(queue.pending("shop"));
    // Its place is where it was first asked for.
    CHECK(queue.take() == std::optional<std::string>("shop"));
    CHECK_FALSE(queue.pending("shop"));
    // Once taken (its cycle runs), a new webhook queues it again.
    CHECK(queue.offer("shop") == Offer::Queued);
    CHECK(queue.take() == std::optional<std::string>("blog"));
    CHECK(queue.take() == std::optional<std::string>("shop"));
}

TEST_CASE("webhook trigger queue: a full queue refuses new stacks and keeps the ones waiting",
          "[webhook][trigger_queue]") {
    TriggerQueue queue(2);
    CHECK(queue.capacity() == 2);
    CHECK(queue.offer("a") == Offer::Queued);
    CHECK(queue.offer("b") == Offer::Queued);
    CHECK(queue.offer("c") == Offer::Full);
    CHECK_FALSE(queue.pending("c"));
    // A stack already waiting is still reported as such when the queue is full.
    CHECK(queue.offer("a") == Offer::AlreadyPending);
    CHECK(queue.size() == 2);
    CHECK(queue.take() == std::optional<std::string>("a"));
    CHECK(queue.offer("c") == Offer::Queued);
    CHECK(queue.take() == std::optional<std::string>("b"));
    CHECK(queue.take() == std::optional<std::string>("c"));

    TriggerQueue none(0);
    CHECK(none.offer("a") == Offer::Full);
    CHECK_FALSE(none.take());
}

}  // namespace unit_webhook_trigger_queue_test
