#include "actors/images/transfer_loop.hpp"

#include <algorithm>
#include <stdexcept>

namespace berth::images {

transfer_loop::transfer_loop() : multi_(curl_multi_init()) {
  if (!multi_) throw std::runtime_error("libcurl cannot make a multi handle");
  thread_ = std::thread([this] { run(); });
}

transfer_loop::~transfer_loop() {
  stop();
  thread_.join();
  curl_multi_cleanup(multi_);
}

void transfer_loop::stop() {
  {
    std::lock_guard<std::mutex> g(mutex_);
    stopping_ = true;
  }
  curl_multi_wakeup(multi_);
}

CURLcode transfer_loop::perform(CURL* easy) {
  job j{easy};
  std::unique_lock<std::mutex> g(mutex_);
  if (stopping_) return CURLE_ABORTED_BY_CALLBACK;
  incoming_.push_back(&j);
  ++in_flight_;
  g.unlock();
  curl_multi_wakeup(multi_);
  g.lock();
  ended_.wait(g, [&] { return j.done; });
  return j.result;
}

std::size_t transfer_loop::in_flight() const {
  std::lock_guard<std::mutex> g(mutex_);
  return in_flight_;
}

void transfer_loop::finish(job* j, CURLcode result) {
  std::lock_guard<std::mutex> g(mutex_);
  j->result = result;
  j->done = true;
  --in_flight_;
  ended_.notify_all();
}

void transfer_loop::run() {
  for (;;) {
    std::vector<job*> added;
    bool stop;
    {
      std::lock_guard<std::mutex> g(mutex_);
      added.swap(incoming_);
      stop = stopping_;
    }
    for (auto* j : added) {
      if (stop || curl_multi_add_handle(multi_, j->easy) != CURLM_OK) {
        finish(j, CURLE_ABORTED_BY_CALLBACK);
        continue;
      }
      running_.push_back(j);
    }
    if (stop) {
      for (auto* j : running_) {
        curl_multi_remove_handle(multi_, j->easy);
        finish(j, CURLE_ABORTED_BY_CALLBACK);
      }
      return;
    }
    int still = 0;
    curl_multi_perform(multi_, &still);
    int left = 0;
    while (CURLMsg* m = curl_multi_info_read(multi_, &left)) {
      if (m->msg != CURLMSG_DONE) continue;
      auto it = std::find_if(running_.begin(), running_.end(),
                             [&](job* j) { return j->easy == m->easy_handle; });
      if (it == running_.end()) continue;
      job* j = *it;
      running_.erase(it);
      CURLcode result = m->data.result;  // m is invalid once the handle is removed
      curl_multi_remove_handle(multi_, j->easy);
      finish(j, result);
    }
    // Sleeps until a socket is ready, a timeout of libcurl's is due, or a
    // perform() or the destructor wakes it.
    curl_multi_poll(multi_, nullptr, 0, 1000, nullptr);
  }
}

}  // namespace berth::images
