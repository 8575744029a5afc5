// The fuzz targets' assertion: a property that does not hold prints where and what, then aborts,
// which libFuzzer reports as a crash and saves the input that did it.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#define FUZZ_CHECK(cond)                                                                    \
  do {                                                                                      \
    if (!(cond)) {                                                                          \
      std::fprintf(stderr, "%s:%d: fuzz property failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                         \
    }                                                                                       \
  } while (0)

namespace onceflow::fuzz {

// Where the byte sums go, so that the compiler cannot drop the reads.
inline volatile uint64_t g_sink = 0;

// Reads every byte of `s` (so that ASan sees a view that points out of bounds).
inline void Touch(std::string_view s) {
  uint64_t sum = 0;
  for (char c : s) sum = sum * 31 + static_cast<unsigned char>(c);
  g_sink = g_sink + sum;
}

}  // namespace onceflow::fuzz
