#include "tests/support/test_certificates.hpp"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace berth::test {
namespace {

void openssl(const std::string& args, const std::string& log) {
  auto cmd = "openssl " + args + " >" + log + " 2>&1";
  if (std::system(cmd.c_str()) != 0) {
    std::ifstream f(log);
    std::stringstream out;
    out << f.rdbuf();
    throw std::runtime_error("openssl " + args + " failed: " + out.str());
  }
}

const char* kKey = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";

}  // namespace

test_ca::test_ca(const std::string& name) : dir_("berth-ca"), name_(name) {
  ca_ = {dir_ / "ca.pem", dir_ / "ca.key"};
  openssl(std::string("req -x509 ") + kKey + " -days 2 -subj '/CN=" + name + "' -keyout " +
              ca_.key + " -out " + ca_.cert + " -addext basicConstraints=critical,CA:TRUE" +
              " -addext keyUsage=critical,keyCertSign,cRLSign",
          dir_ / "openssl.log");
}

certificate test_ca::issue(const std::string& name) const {
  certificate c{dir_ / (name + ".pem"), dir_ / (name + ".key")};
  auto csr = dir_ / (name + ".csr");
  auto ext = dir_ / (name + ".ext");
  std::ofstream(ext) << "subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost,DNS:" << name << "\n"
                     << "extendedKeyUsage=serverAuth,clientAuth\n"
                     << "basicConstraints=CA:FALSE\n";
  openssl(
      std::string("req ") + kKey + " -subj '/CN=" + name + "' -keyout " + c.key + " -out " + csr,
      dir_ / "openssl.log");
  openssl("x509 -req -days 2 -in " + csr + " -CA " + ca_.cert + " -CAkey " + ca_.key +
              " -CAcreateserial -extfile " + ext + " -out " + c.cert,
          dir_ / "openssl.log");
  return c;
}

}  // namespace berth::test
