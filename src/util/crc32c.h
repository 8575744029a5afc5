// CRC32C (Castagnoli), the checksum of every on-disk format. Uses the SSE4.2 crc32 instruction
// where the CPU has it, a table otherwise; both give the same values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace onceflow::crc32c {

// Returns the CRC32C of data[0, n) continued from `crc` (the CRC of the bytes before it; 0 for
// none). Extend(Extend(0, a), b) == Value(a + b).
uint32_t Extend(uint32_t crc, const char* data, size_t n);

inline uint32_t Value(const char* data, size_t n) { return Extend(0, data, n); }
inline uint32_t Value(std::string_view s) { return Extend(0, s.data(), s.size()); }

// True when the hardware path is in use.
bool IsHardwareAccelerated();

}  // namespace onceflow::crc32c
