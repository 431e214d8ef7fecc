// One thread running libcurl's multi interface for every registry transfer
// of a process: each request's easy handle is handed to it, and all sockets
// are driven from there, however many pulls and pushes are in flight. The
// callers (a pull's download workers) wait for their own transfer only.
#pragma once

#include <curl/curl.h>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace berth::images {

class transfer_loop {
 public:
  transfer_loop();
  // Transfers still running end with CURLE_ABORTED_BY_CALLBACK.
  ~transfer_loop();
  transfer_loop(const transfer_loop&) = delete;
  transfer_loop& operator=(const transfer_loop&) = delete;

  // Runs `easy` to its end on the loop's thread and returns its result, as
  // curl_easy_perform would. `easy`'s callbacks run on the loop's thread
  // while the caller waits here.
  CURLcode perform(CURL* easy);

  // Ends every transfer running or handed over later with
  // CURLE_ABORTED_BY_CALLBACK; the thread is joined by the destructor.
  void stop();

  // Transfers handed over and not yet ended (for tests).
  std::size_t in_flight() const;

 private:
  struct job {
    CURL* easy;
    CURLcode result = CURLE_OK;
    bool done = false;
  };

  void run();
  void finish(job* j, CURLcode result);

  CURLM* multi_;
  mutable std::mutex mutex_;
  std::condition_variable ended_;
  std::vector<job*> incoming_;  // handed over, not yet added to multi_
  std::vector<job*> running_;   // in multi_ (only the loop's thread touches it)
  std::size_t in_flight_ = 0;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace berth::images
