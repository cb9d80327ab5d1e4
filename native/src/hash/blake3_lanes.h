// BLAKE3's compression of N inputs side by side, one input per 32-bit lane of a vector (GCC/Clang vector
// extensions). Included only by blake3_x86.cc, once per instruction set, each time inside that set's target
// pragma and its own namespace: every function here is then compiled for that instruction set and nothing
// else, and no inline function of a standard header picks up wider instructions (they are included before).

// N 32-bit lanes (GCC cannot size a vector by a template parameter directly).
template <int N>
struct VectorOf;
template <>
struct VectorOf<8> {
  typedef uint32_t V __attribute__((vector_size(32)));
};
template <>
struct VectorOf<16> {
  typedef uint32_t V __attribute__((vector_size(64)));
};

template <int N>
struct Lanes {
  using V = typename VectorOf<N>::V;

  static V Splat(uint32_t x) { return V{} + x; }

  template <int R>
  static V Rotr(V x) {
    return (x >> R) | (x << (32 - R));
  }

  static void G(V* v, int a, int b, int c, int d, V x, V y) {
    v[a] = v[a] + v[b] + x;
    v[d] = Rotr<16>(v[d] ^ v[a]);
    v[c] = v[c] + v[d];
    v[b] = Rotr<12>(v[b] ^ v[c]);
    v[a] = v[a] + v[b] + y;
    v[d] = Rotr<8>(v[d] ^ v[a]);
    v[c] = v[c] + v[d];
    v[b] = Rotr<7>(v[b] ^ v[c]);
  }

  // One round with its message order known at compile time, so the words stay in registers.
  template <size_t R>
  static void Round(V* v, const V* m) {
    using hvr::hash::blake3::kSchedule;
    G(v, 0, 4, 8, 12, m[kSchedule[R][0]], m[kSchedule[R][1]]);
    G(v, 1, 5, 9, 13, m[kSchedule[R][2]], m[kSchedule[R][3]]);
    G(v, 2, 6, 10, 14, m[kSchedule[R][4]], m[kSchedule[R][5]]);
    G(v, 3, 7, 11, 15, m[kSchedule[R][6]], m[kSchedule[R][7]]);
    G(v, 0, 5, 10, 15, m[kSchedule[R][8]], m[kSchedule[R][9]]);
    G(v, 1, 6, 11, 12, m[kSchedule[R][10]], m[kSchedule[R][11]]);
    G(v, 2, 7, 8, 13, m[kSchedule[R][12]], m[kSchedule[R][13]]);
    G(v, 3, 4, 9, 14, m[kSchedule[R][14]], m[kSchedule[R][15]]);
  }

  template <size_t... R>
  static void Rounds(V* v, const V* m, std::index_sequence<R...>) {
    (Round<R>(v, m), ...);
  }

  // Interleave masks: element k of the low half takes a[k/2] or b[k/2] by k's parity; the high half the same from N/2 on.
  template <size_t... I>
  static V Interleave(size_t from, std::index_sequence<I...>) {
    return V{static_cast<uint32_t>((I % 2) * N + from + I / 2)...};
  }

  // Transposes N rows of N words in place: log2(N) rounds of pairing row i with row i + N/2 and
  // interleaving them, each round rotating the (row, column) index bits by one.
  static void Transpose(V* rows) {
    const V lo = Interleave(0, std::make_index_sequence<N>{});
    const V hi = Interleave(N / 2, std::make_index_sequence<N>{});
    for (int width = 1; width < N; width *= 2) {
      V out[N];
      for (int i = 0; i < N / 2; i++) {
        out[2 * i] = __builtin_shuffle(rows[i], rows[i + N / 2], lo);
        out[2 * i + 1] = __builtin_shuffle(rows[i], rows[i + N / 2], hi);
      }
      for (int i = 0; i < N; i++) rows[i] = out[i];
    }
  }

  // Message words of block `block` of each lane's input, word-major (m[w] holds word w of every lane).
  static void LoadMessage(const uint8_t* const* inputs, size_t block, V m[16]) {
    for (int half = 0; half < 16 / N; half++) {
      V rows[N];
      for (int i = 0; i < N; i++) std::memcpy(&rows[i], inputs[i] + block * hvr::hash::blake3::kBlockLen + 4 * N * half, sizeof(V));
      Transpose(rows);
      for (int w = 0; w < N; w++) m[half * N + w] = rows[w];
    }
  }

  // N inputs exactly (see HashManyFn).
  static void HashN(const uint8_t* const* inputs, size_t blocks, uint64_t counter, bool increment_counter,
                    uint32_t flags, uint32_t flags_start, uint32_t flags_end, uint8_t* out) {
    using namespace hvr::hash::blake3;
    uint32_t lo[N], hi[N];
    for (int i = 0; i < N; i++) {
      const uint64_t c = counter + (increment_counter ? static_cast<uint64_t>(i) : 0);
      lo[i] = static_cast<uint32_t>(c);
      hi[i] = static_cast<uint32_t>(c >> 32);
    }
    V counter_lo, counter_hi;
    std::memcpy(&counter_lo, lo, sizeof(V));
    std::memcpy(&counter_hi, hi, sizeof(V));
    V cv[8];
    for (int i = 0; i < 8; i++) cv[i] = Splat(kIv[i]);
    for (size_t b = 0; b < blocks; b++) {
      V m[16];
      LoadMessage(inputs, b, m);
      const uint32_t block_flags = flags | (b == 0 ? flags_start : 0) | (b + 1 == blocks ? flags_end : 0);
      V v[16] = {cv[0], cv[1], cv[2], cv[3], cv[4], cv[5], cv[6], cv[7],
                 Splat(kIv[0]), Splat(kIv[1]), Splat(kIv[2]), Splat(kIv[3]),
                 counter_lo, counter_hi, Splat(static_cast<uint32_t>(kBlockLen)), Splat(block_flags)};
      Rounds(v, m, std::make_index_sequence<7>{});
      for (int i = 0; i < 8; i++) cv[i] = v[i] ^ v[i + 8];
    }
    // Back to one row per input: its 8 words are the first 32 bytes of its row.
    V rows[N] = {};
    for (int w = 0; w < 8; w++) rows[w] = cv[w];
    Transpose(rows);
    for (int i = 0; i < N; i++) std::memcpy(out + 32 * i, &rows[i], 32);
  }

  // Any count: N at a time; a remainder of two or more fills the unused lanes with copies of its first
  // input (their results are dropped), a lone one goes the portable way.
  static void HashMany(const uint8_t* const* inputs, size_t count, size_t blocks, uint64_t counter,
                       bool increment_counter, uint32_t flags, uint32_t flags_start, uint32_t flags_end, uint8_t* out) {
    using namespace hvr::hash::blake3;
    size_t done = 0;
    for (; done + N <= count; done += N) {
      HashN(inputs + done, blocks, counter + (increment_counter ? done : 0), increment_counter, flags, flags_start,
            flags_end, out + 32 * done);
    }
    const size_t rest = count - done;
    if (rest == 1) {
      HashManyPortable(inputs + done, 1, blocks, counter + (increment_counter ? done : 0), increment_counter, flags,
                       flags_start, flags_end, out + 32 * done);
    } else if (rest > 1) {
      const uint8_t* padded[N];
      for (size_t i = 0; i < N; i++) padded[i] = inputs[done + (i < rest ? i : 0)];
      uint8_t cvs[32 * N];
      HashN(padded, blocks, counter + (increment_counter ? done : 0), increment_counter, flags, flags_start, flags_end,
            cvs);
      std::memcpy(out + 32 * done, cvs, 32 * rest);
    }
  }
};
