// A tensor's dimensions: up to three inline, on the heap beyond. Nearly every tensor of a
// checkpoint has one, two or three (norms, linear weights, fused experts), so a 62k-tensor
// header is read without an allocation per tensor (a std::vector took one each: 62k calls to
// malloc and 2 MB of freshly faulted pages per scan).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <utility>
#include <vector>

namespace ckd {

class Shape {
 public:
  using value_type = uint64_t;
  using size_type = size_t;
  using iterator = uint64_t*;
  using const_iterator = const uint64_t*;

  Shape() noexcept : inline_{} {}
  Shape(std::initializer_list<uint64_t> dims) : Shape() { assign(dims.begin(), dims.end()); }
  // From the generic paths (JSON configs, tests): implicit, as a vector's shape was.
  Shape(std::span<const uint64_t> dims) : Shape() {  // NOLINT(google-explicit-constructor)
    assign(dims.data(), dims.data() + dims.size());
  }
  Shape(const std::vector<uint64_t>& dims)  // NOLINT(google-explicit-constructor)
      : Shape(std::span<const uint64_t>(dims)) {}
  Shape(const Shape& other) : Shape() { assign(other.begin(), other.end()); }
  Shape(Shape&& other) noexcept : Shape() { take(other); }
  Shape& operator=(const Shape& other) {
    if (this != &other) assign(other.begin(), other.end());
    return *this;
  }
  Shape& operator=(Shape&& other) noexcept {
    if (this != &other) {
      release();
      take(other);
    }
    return *this;
  }
  ~Shape() { release(); }

  void assign(const uint64_t* first, const uint64_t* last) {
    const size_t n = static_cast<size_t>(last - first);
    reserve(n);
    std::copy(first, last, data());
    size_ = static_cast<uint32_t>(n);
  }
  void push_back(uint64_t dim) {
    if (size_ == capacity_) reserve(size_t{capacity_} * 2);
    data()[size_++] = dim;
  }
  void clear() noexcept { size_ = 0; }

  size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  const uint64_t* data() const noexcept { return on_heap() ? heap_ : inline_; }
  uint64_t* data() noexcept { return on_heap() ? heap_ : inline_; }
  const uint64_t* begin() const noexcept { return data(); }
  const uint64_t* end() const noexcept { return data() + size_; }
  uint64_t* begin() noexcept { return data(); }
  uint64_t* end() noexcept { return data() + size_; }
  const uint64_t& operator[](size_t i) const noexcept { return data()[i]; }
  uint64_t& operator[](size_t i) noexcept { return data()[i]; }
  const uint64_t& front() const noexcept { return data()[0]; }
  const uint64_t& back() const noexcept { return data()[size_ - 1]; }
  std::vector<uint64_t> vector() const { return {begin(), end()}; }

  friend bool operator==(const Shape& a, const Shape& b) noexcept {
    return std::equal(a.begin(), a.end(), b.begin(), b.end());
  }
  friend bool operator==(const Shape& a, const std::vector<uint64_t>& b) noexcept {
    return std::equal(a.begin(), a.end(), b.begin(), b.end());
  }

 private:
  static constexpr uint32_t kInline = 3;
  bool on_heap() const noexcept { return capacity_ > kInline; }
  // Room for n dimensions, keeping the ones held.
  void reserve(size_t n) {
    if (n <= capacity_) return;
    auto* grown = new uint64_t[n];
    std::copy(begin(), end(), grown);
    release();
    heap_ = grown;
    capacity_ = static_cast<uint32_t>(n);
  }
  void release() noexcept {
    if (on_heap()) delete[] heap_;
    capacity_ = kInline;
  }
  // Takes other's dimensions (its heap block, or a copy of the inline ones); other is left
  // empty and inline.
  void take(Shape& other) noexcept {
    if (other.on_heap()) {
      heap_ = std::exchange(other.heap_, nullptr);
      capacity_ = std::exchange(other.capacity_, kInline);
    } else {
      std::copy(other.inline_, other.inline_ + other.size_, inline_);
    }
    size_ = std::exchange(other.size_, 0);
  }

  union {
    uint64_t inline_[kInline];
    uint64_t* heap_;
  };
  uint32_t size_ = 0;
  uint32_t capacity_ = kInline;
};

}  // namespace ckd
