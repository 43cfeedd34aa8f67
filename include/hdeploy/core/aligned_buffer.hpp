#pragma once
// Page-aligned byte buffers: what DMA-capable backends (HailoRT) need, and what every backend
// gets so that one buffer pool serves them all.

#include <cstddef>
#include <cstdint>
#include <span>

namespace hdeploy {

// The system page size from sysconf(_SC_PAGESIZE): 4 KiB on most x86, 16 KiB on the Pi 5.
std::size_t page_size();

// Owns `size` bytes aligned to `page` (the system page size unless a test injects another,
// e.g. the Pi 5 kernel's 16 KiB on a 4 KiB machine); the allocation is rounded up to whole
// pages. Move-only. Contents are zero-initialised. Throws std::bad_alloc when memory runs out
// and std::invalid_argument for a page that is not a power of two of at least 16 bytes.
class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  explicit AlignedBuffer(std::size_t size, std::size_t page = page_size());
  ~AlignedBuffer();
  AlignedBuffer(AlignedBuffer&& other) noexcept;
  AlignedBuffer& operator=(AlignedBuffer&& other) noexcept;
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;

  std::uint8_t* data() { return data_; }
  const std::uint8_t* data() const { return data_; }
  std::size_t size() const { return size_; }
  std::size_t capacity() const { return capacity_; }
  std::span<std::uint8_t> bytes() { return {data_, size_}; }
  std::span<const std::uint8_t> bytes() const { return {data_, size_}; }
  template <typename T>
  T* as() {
    return reinterpret_cast<T*>(data_);
  }
  template <typename T>
  const T* as() const {
    return reinterpret_cast<const T*>(data_);
  }

 private:
  std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
};

}  // namespace hdeploy
