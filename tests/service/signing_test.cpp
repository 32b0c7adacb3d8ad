// Section 3 payloads and Ed25519 signatures, against the published vectors and RFC 8032.

#include <tinychat/encoding.hpp>
#include <tinychat/signature_verifier.hpp>

#include <boost/json.hpp>
#include <doctest/doctest.h>

#include <cstring>
#include <fstream>
#include <sstream>

using namespace tinychat;
namespace json = boost::json;

namespace {

json::object load_vectors() {
  std::ifstream in(TINYCHAT_TEST_DATA_DIR "/signing.json");
  REQUIRE(in);
  std::stringstream text;
  text << in.rdbuf();
  return json::parse(text.str()).as_object();
}

template <std::size_t N>
std::array<std::uint8_t, N> bytes(const json::value& hex) {
  std::array<std::uint8_t, N> out{};
  REQUIRE(from_hex(hex.as_string(), out));
  return out;
}

std::string str(const json::value& v) { return std::string(v.as_string()); }

KeyPair key_of(const json::object& vector) {
  auto seed = bytes<32>(vector.at("seed"));
  auto key = KeyPair::from_seed(seed);
  CHECK(to_hex(key.public_key()) == str(vector.at("pub_key")));
  return key;
}

} // namespace

TEST_CASE("signing: every join vector's payload and signature are reproduced byte for byte") {
  auto vectors = load_vectors().at("join").as_array();
  REQUIRE(vectors.size() >= 3);
  for (const auto& v : vectors) {
    const auto& o = v.as_object();
    CAPTURE(str(o.at("user_name")));
    auto key = key_of(o);
    auto payload = join_payload(bytes<32>(o.at("challenge")), str(o.at("room_id")),
                                str(o.at("user_name")), key.public_key());
    CHECK(to_hex(payload) == str(o.at("payload")));
    auto sig = key.sign(payload);
    CHECK(to_hex(sig) == str(o.at("sig")));
    CHECK(SignatureVerifier{}.verify(key.public_key(), payload, sig));
  }
}

TEST_CASE("signing: every message vector's payload and signature are reproduced byte for byte") {
  auto vectors = load_vectors().at("msg").as_array();
  REQUIRE(vectors.size() >= 3);
  for (const auto& v : vectors) {
    const auto& o = v.as_object();
    CAPTURE(str(o.at("text")));
    auto key = key_of(o);
    auto payload =
        message_payload(str(o.at("room_id")), str(o.at("user_id")),
                        o.at("client_seq").to_number<std::uint64_t>(), str(o.at("text")));
    CHECK(to_hex(payload) == str(o.at("payload")));
    auto sig = key.sign(payload);
    CHECK(to_hex(sig) == str(o.at("sig")));
    CHECK(SignatureVerifier{}.verify(key.public_key(), payload, sig));
  }
}

TEST_CASE("signing: RFC 8032 section 7.1 test vectors sign and verify") {
  struct Vector {
    const char* secret;
    const char* pub;
    const char* message;
    const char* sig;
  };
  const Vector vectors[] = {
      {"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
       "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
       "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf"
       "9b46bd25bf5f0595bbe24655141438e7a100b"},
      {"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
       "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
       "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f"
       "11d8c387b2eaeb4302aeeb00d291612bb0c00"},
      {"c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
       "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
       "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984"
       "dc6594a7c15e9716ed28dc027beceea1ec40a"},
  };
  for (const auto& v : vectors) {
    CAPTURE(v.pub);
    auto key = KeyPair::from_seed(bytes<32>(json::string(v.secret)));
    CHECK(to_hex(key.public_key()) == v.pub);
    std::vector<std::uint8_t> message(std::strlen(v.message) / 2);
    REQUIRE(from_hex(v.message, message));
    auto sig = key.sign(message);
    CHECK(to_hex(sig) == v.sig);
    CHECK(SignatureVerifier{}.verify(key.public_key(), message, sig));
    message.push_back(0);
    CHECK_FALSE(SignatureVerifier{}.verify(key.public_key(), message, sig));
  }
}

TEST_CASE("signing: a key pair restored from its seed signs identically") {
  auto key = KeyPair::generate();
  std::array<std::uint8_t, 32> seed{};
  std::copy(key.seed().begin(), key.seed().end(), seed.begin());
  auto restored = KeyPair::from_seed(seed);
  CHECK(restored.public_key() == key.public_key());
  std::vector<std::uint8_t> payload{1, 2, 3};
  CHECK(restored.sign(payload) == key.sign(payload));
}
