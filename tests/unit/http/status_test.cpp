// Status codes and their reason phrases: exactly the IANA registry with RFC 9110's spellings.
#include "zhttp/status.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <set>

namespace zhttp {
namespace {

// Every code in the IANA registry (RFC 9110 spellings) with its phrase.
struct Entry {
  uint16_t code;
  std::string_view phrase;
};
constexpr Entry kRegistered[] = {
    {100, "Continue"},
    {101, "Switching Protocols"},
    {102, "Processing"},
    {103, "Early Hints"},
    {200, "OK"},
    {201, "Created"},
    {202, "Accepted"},
    {203, "Non-Authoritative Information"},
    {204, "No Content"},
    {205, "Reset Content"},
    {206, "Partial Content"},
    {207, "Multi-Status"},
    {208, "Already Reported"},
    {226, "IM Used"},
    {300, "Multiple Choices"},
    {301, "Moved Permanently"},
    {302, "Found"},
    {303, "See Other"},
    {304, "Not Modified"},
    {305, "Use Proxy"},
    {306, "(Unused)"},
    {307, "Temporary Redirect"},
    {308, "Permanent Redirect"},
    {400, "Bad Request"},
    {401, "Unauthorized"},
    {402, "Payment Required"},
    {403, "Forbidden"},
    {404, "Not Found"},
    {405, "Method Not Allowed"},
    {406, "Not Acceptable"},
    {407, "Proxy Authentication Required"},
    {408, "Request Timeout"},
    {409, "Conflict"},
    {410, "Gone"},
    {411, "Length Required"},
    {412, "Precondition Failed"},
    {413, "Content Too Large"},
    {414, "URI Too Long"},
    {415, "Unsupported Media Type"},
    {416, "Range Not Satisfiable"},
    {417, "Expectation Failed"},
    {418, "I'm a teapot"},
    {421, "Misdirected Request"},
    {422, "Unprocessable Content"},
    {423, "Locked"},
    {424, "Failed Dependency"},
    {425, "Too Early"},
    {426, "Upgrade Required"},
    {428, "Precondition Required"},
    {429, "Too Many Requests"},
    {431, "Request Header Fields Too Large"},
    {451, "Unavailable For Legal Reasons"},
    {500, "Internal Server Error"},
    {501, "Not Implemented"},
    {502, "Bad Gateway"},
    {503, "Service Unavailable"},
    {504, "Gateway Timeout"},
    {505, "HTTP Version Not Supported"},
    {506, "Variant Also Negotiates"},
    {507, "Insufficient Storage"},
    {508, "Loop Detected"},
    {510, "Not Extended"},
    {511, "Network Authentication Required"},
};

TEST(Status, EveryRegisteredCodeHasItsRfc9110Phrase) {
  for (const Entry& e : kRegistered) EXPECT_EQ(reason_phrase(e.code), e.phrase) << e.code;
}

TEST(Status, Rfc9110RenamedPhrases) {
  // The names RFC 9110 changed from RFC 7231: the old ones must not come back.
  EXPECT_EQ(reason_phrase(413), "Content Too Large");
  EXPECT_EQ(reason_phrase(414), "URI Too Long");
  EXPECT_EQ(reason_phrase(416), "Range Not Satisfiable");
  EXPECT_EQ(reason_phrase(422), "Unprocessable Content");
}

TEST(Status, ExactlyTheRegisteredCodesHavePhrases) {
  std::set<uint16_t> registered;
  for (const Entry& e : kRegistered) registered.insert(e.code);
  for (uint32_t c = 0; c <= UINT16_MAX; ++c) {
    const auto code = static_cast<uint16_t>(c);
    EXPECT_EQ(!reason_phrase(code).empty(), registered.count(code) == 1) << c;
  }
}

TEST(Status, UnknownCodesAreEmpty) {
  for (uint16_t c : {0,   1,   99,  104, 199, 209, 225, 299, 309, 399, 419,  420,  427,
                     430, 432, 450, 452, 499, 509, 512, 599, 600, 999, 1000, 65535}) {
    EXPECT_EQ(reason_phrase(c), "") << c;
  }
}

TEST(Status, PhrasesAreValidReasonPhraseBytes) {
  // reason-phrase = 1*( HTAB / SP / VCHAR / obs-text ); we use only printable ASCII.
  for (const Entry& e : kRegistered) {
    for (char ch : reason_phrase(e.code)) {
      EXPECT_TRUE(ch >= 0x20 && ch < 0x7f) << e.code;
    }
  }
}

TEST(Status, ViewsPointToStaticStorage) {
  EXPECT_EQ(reason_phrase(404).data(), reason_phrase(404).data());
}

}  // namespace
}  // namespace zhttp
