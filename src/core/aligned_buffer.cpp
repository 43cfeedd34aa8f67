#include "hdeploy/core/aligned_buffer.hpp"

#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>
#include <utility>

namespace hdeploy {

std::size_t page_size() {
  static const std::size_t size = [] {
    long v = sysconf(_SC_PAGESIZE);
    return v > 0 ? static_cast<std::size_t>(v) : std::size_t{4096};
  }();
  return size;
}

AlignedBuffer::AlignedBuffer(std::size_t size, std::size_t page) : size_(size) {
  if (page < 16 || (page & (page - 1)) != 0) {
    throw std::invalid_argument(
        "AlignedBuffer: the page must be a power of two of 16 bytes or more");
  }
  capacity_ = size == 0 ? page : (size + page - 1) / page * page;
  data_ = static_cast<std::uint8_t*>(std::aligned_alloc(page, capacity_));
  if (data_ == nullptr) throw std::bad_alloc();
  std::memset(data_, 0, capacity_);
}

AlignedBuffer::~AlignedBuffer() { std::free(data_); }

AlignedBuffer::AlignedBuffer(AlignedBuffer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      capacity_(std::exchange(other.capacity_, 0)) {}

AlignedBuffer& AlignedBuffer::operator=(AlignedBuffer&& other) noexcept {
  if (this != &other) {
    std::free(data_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    capacity_ = std::exchange(other.capacity_, 0);
  }
  return *this;
}

}  // namespace hdeploy
