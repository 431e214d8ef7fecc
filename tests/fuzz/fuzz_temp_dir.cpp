#include "fuzz_temp_dir.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <system_error>

namespace berth::fuzz {

namespace fs = std::filesystem;

void remove_tree(const std::string& path) {
  std::error_code ec;
  // A layer may leave directories without write or search permission; as
  // root that does not matter, as a user it does: open them up first.
  for (auto it = fs::recursive_directory_iterator(
           path, fs::directory_options::skip_permission_denied, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
    if (it->is_directory(ec) && !it->is_symlink(ec)) ::chmod(it->path().c_str(), 0700);
  fs::remove_all(path, ec);
  if (ec && fs::exists(fs::symlink_status(path, ec)))
    std::cerr << "fuzz: cannot remove " << path << ": " << ec.message() << "\n";
}

const std::string& process_dir() {
  // Never destroyed: the atexit handler below reads it after static
  // destructors may have run.
  static const std::string& dir = *[] {
    std::string base;
    if (const char* env = std::getenv("BERTH_FUZZ_TMPDIR"); env && *env)
      base = env;
    else if (::access("/dev/shm", W_OK) == 0)
      base = "/dev/shm";
    else
      base = "/tmp";
    std::string templ = base + "/berth-fuzz-" + std::to_string(::getpid()) + "-XXXXXX";
    if (!::mkdtemp(templ.data())) {
      std::cerr << "fuzz: cannot create a directory in " << base << "\n";
      std::abort();
    }
    auto* kept = new std::string(templ);
    std::atexit([] { remove_tree(process_dir()); });
    return kept;
  }();
  return dir;
}

std::string fresh_dir(const std::string& name) {
  std::string path = process_dir() + "/" + name;
  remove_tree(path);
  if (::mkdir(path.c_str(), 0700) != 0) {
    std::cerr << "fuzz: cannot create " << path << "\n";
    std::abort();
  }
  return path;
}

}  // namespace berth::fuzz
