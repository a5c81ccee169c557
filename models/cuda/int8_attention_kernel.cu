// One block computes 128 query rows of one head: two warpgroups of 64 rows, each its own
// online softmax, over 128-key tiles of K and V that the bulk copy engine brings into a
// four-stage ring (one thread, one copy per tile; a shared-memory barrier counts the bytes in).
// Per tile: S = Q K^T as int8 x int8 -> int32 (wgmma, both operands from shared memory), the
// softmax in float32 registers, P rounded to u8, then P V as u8 x int8 -> int32 with P taken
// straight from registers (wgmma's register operand; V's key order matches the accumulator
// layout P comes in). Integer sums are exact: |S| <= 128 * 127 * 127 and |P V| <= 128 * 255 *
// 127, both under 2^22, which also lets an add of magic bits stand in for int -> float
// conversions.
//
// Scheduling, as FlashAttention-3 does on Hopper: the warpgroups take turns issuing their
// products (named barriers), so one's softmax runs while the tensor cores serve the other; and
// within a warpgroup, P V of tile t - 1 and S of tile t go out together, the output's update
// for the first overlapping the second. A stage is refilled by whichever warp finishes with it
// last: no warp stops to wait for a stage to empty, only for the tile it needs next.
#include "models/cuda/int8_attention_kernel.h"

#include <cuda_bf16.h>

#include <climits>
#include <cmath>

namespace wan::cuda {
namespace {

constexpr int kD = kInt8AttentionHeadDim;
constexpr int kTile = kInt8AttentionTile;
constexpr int kThreads = 256;                        // two warpgroups
constexpr int kTileBytes = kTile * kD;               // a 128 x 128 tile of 8-bit values
constexpr int kScaleBytes = kTile * 8;               // a tile's key scales and shifts
constexpr int kAccRegs = 64;                         // a 64 x 128 int32 accumulator over a warpgroup
constexpr int kStages = 4;                           // tiles of K and V in flight
constexpr int kStageBytes = 2 * kTileBytes + kScaleBytes;  // K, V and the keys' scales and shifts of one tile
// Q, the stages, their barriers and release counters; 1024 for the tiles' alignment.
constexpr int kSmemBytes = kTileBytes + kStages * kStageBytes + 128 + 1024;
constexpr uint32_t kMagic = 0x4B400000u;             // the bits of 1.5 * 2^23
constexpr float kMagicF = kInt8AttentionMagic;       // for |x| < 2^22: bits(kMagicF) + x = bits(kMagicF + x)

#if defined(__CUDA_ARCH__) && defined(__CUDA_ARCH_FEAT_SM90_ALL)
#define WAN_INT8_ATTENTION_WGMMA 1
#endif

#define WAN_WGMMA_D_OPERANDS \
  "+r"(d[0]), "+r"(d[1]), "+r"(d[2]), "+r"(d[3]), "+r"(d[4]), "+r"(d[5]), "+r"(d[6]), "+r"(d[7]), \
  "+r"(d[8]), "+r"(d[9]), "+r"(d[10]), "+r"(d[11]), "+r"(d[12]), "+r"(d[13]), "+r"(d[14]), "+r"(d[15]), \
  "+r"(d[16]), "+r"(d[17]), "+r"(d[18]), "+r"(d[19]), "+r"(d[20]), "+r"(d[21]), "+r"(d[22]), "+r"(d[23]), \
  "+r"(d[24]), "+r"(d[25]), "+r"(d[26]), "+r"(d[27]), "+r"(d[28]), "+r"(d[29]), "+r"(d[30]), "+r"(d[31]), \
  "+r"(d[32]), "+r"(d[33]), "+r"(d[34]), "+r"(d[35]), "+r"(d[36]), "+r"(d[37]), "+r"(d[38]), "+r"(d[39]), \
  "+r"(d[40]), "+r"(d[41]), "+r"(d[42]), "+r"(d[43]), "+r"(d[44]), "+r"(d[45]), "+r"(d[46]), "+r"(d[47]), \
  "+r"(d[48]), "+r"(d[49]), "+r"(d[50]), "+r"(d[51]), "+r"(d[52]), "+r"(d[53]), "+r"(d[54]), "+r"(d[55]), \
  "+r"(d[56]), "+r"(d[57]), "+r"(d[58]), "+r"(d[59]), "+r"(d[60]), "+r"(d[61]), "+r"(d[62]), "+r"(d[63])
#define WAN_WGMMA_D_REGS \
  "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, " \
  "%16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, " \
  "%32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, " \
  "%48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63}"

#ifdef WAN_INT8_ATTENTION_WGMMA

// A K-major operand tile in shared memory with the 128-byte swizzle: rows of 128 bytes, the
// 16-byte chunk c of row r stored at chunk c ^ (r % 8), 8-row groups 1024 bytes apart. The
// tile starts on a 1024-byte boundary; +2 in the descriptor steps 32 bytes along K.
__device__ __forceinline__ uint64_t smem_descriptor(uint32_t addr) {
  return static_cast<uint64_t>((addr & 0x3FFFF) >> 4) | (uint64_t{1} << 16) | (uint64_t{1024 >> 4} << 32) |
         (uint64_t{1} << 62);
}

__device__ __forceinline__ void wgmma_ss(int (&d)[64], uint64_t a, uint64_t b, int accumulate) {
  asm volatile(
      "{\n.reg .pred p;\nsetp.ne.b32 p, %66, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n128k32.s32.s8.s8 " WAN_WGMMA_D_REGS ", %64, %65, p;\n}\n"
      : WAN_WGMMA_D_OPERANDS
      : "l"(a), "l"(b), "r"(accumulate));
}

__device__ __forceinline__ void wgmma_rs(int (&d)[64], uint32_t a0, uint32_t a1, uint32_t a2, uint32_t a3, uint64_t b,
                                         int accumulate) {
  asm volatile(
      "{\n.reg .pred p;\nsetp.ne.b32 p, %69, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n128k32.s32.u8.s8 " WAN_WGMMA_D_REGS ", {%64, %65, %66, %67}, %68, p;\n}\n"
      : WAN_WGMMA_D_OPERANDS
      : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "l"(b), "r"(accumulate));
}

__device__ __forceinline__ void wgmma_wait_one() { asm volatile("wgmma.wait_group.sync.aligned 1;\n" ::: "memory"); }

__device__ __forceinline__ void wgmma_fence() { asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory"); }
__device__ __forceinline__ void wgmma_commit() { asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory"); }
__device__ __forceinline__ void wgmma_wait_all() { asm volatile("wgmma.wait_group.sync.aligned 0;\n" ::: "memory"); }

// Keeps the compiler from moving accumulator reads and writes across the asynchronous products.
__device__ __forceinline__ void fence_operands(int (&d)[64]) {
#pragma unroll
  for (int i = 0; i < 64; ++i) asm volatile("" : "+r"(d[i])::"memory");
}

__device__ __forceinline__ float exp2_approx(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;\n" : "=f"(y) : "f"(x));
  return y;
}

// Four values held in the low bytes of four words, packed into one word (lowest first).
__device__ __forceinline__ uint32_t pack_low_bytes(uint32_t a, uint32_t b, uint32_t c, uint32_t e) {
  return __byte_perm(__byte_perm(a, b, 0x0040), __byte_perm(c, e, 0x0040), 0x5410);
}

// The softmax of one tile. In: S's integer sums in d (accumulator layout: register r holds row
// lane / 4 + 8 * ((r >> 1) & 1) and column 8 * (r >> 2) + 2 * (lane % 4) + (r & 1)) and the
// keys' scales of this thread's 32 columns (k_scale[r / 2 ... ] in register order, see below);
// their shifts (-kMagicF times the scales, written by the quantisation pass); c[i], the row's
// scale. Out: P as u8 in p (wgmma's register-operand layout for four 32-key steps), the rows'
// factors for the running sums (alpha) and for this tile's (beta).
template <bool kMasked>
__device__ __forceinline__ void softmax_tile(int (&d)[kAccRegs], uint32_t (&p)[kAccRegs / 4],
                                             const float (&k_scale)[kAccRegs / 2], const float (&k_shift)[kAccRegs / 2],
                                             const float (&c)[2], float (&m_run)[2], float (&l_run)[2],
                                             float (&alpha)[2], float (&beta)[2], int valid_cols, int quad) {
  float mx[2] = {-INFINITY, -INFINITY};
#pragma unroll
  for (int r = 0; r < kAccRegs; ++r) {
    // k_scale holds columns 8j + 2q and 8j + 2q + 1 at 2j and 2j + 1.
    // (kMagicF + d) ks - kMagicF ks in one rounding: d ks to within a unit of ks.
    const float sr = fmaf(__int_as_float(d[r] + static_cast<int>(kMagic)), k_scale[2 * (r >> 2) + (r & 1)],
                          k_shift[2 * (r >> 2) + (r & 1)]);
    const float sm = kMasked && 8 * (r >> 2) + 2 * quad + (r & 1) >= valid_cols ? -INFINITY : sr;
    mx[(r >> 1) & 1] = fmaxf(mx[(r >> 1) & 1], sm);
    d[r] = __float_as_int(sm);  // in place: the accumulator's registers hold the scores
  }
#pragma unroll
  for (int i = 0; i < 2; ++i) {
    mx[i] = fmaxf(mx[i], __shfl_xor_sync(0xffffffffu, mx[i], 1));
    mx[i] = fmaxf(mx[i], __shfl_xor_sync(0xffffffffu, mx[i], 2));
    const float m_tile = mx[i] * c[i];
    const float m_new = fmaxf(m_run[i], m_tile);
    alpha[i] = exp2_approx(m_run[i] - m_new);
    beta[i] = exp2_approx(m_tile - m_new);
    m_run[i] = m_new;
    mx[i] = m_tile;
  }
  // p = exp2(s c - m_tile) in [0, 1]; kMagicF + 255 p rounds 255 p to an integer in the low
  // bits, whose sum is this tile's share of the row sum.
#pragma unroll
  for (int r = 0; r < kAccRegs; ++r) {
    const int i = (r >> 1) & 1;
    uint32_t u = kMagic;
    const float sr = __int_as_float(d[r]);
    if (!kMasked || sr != -INFINITY) u = __float_as_uint(fmaf(exp2_approx(fmaf(sr, c[i], -mx[i])), 255.f, kMagicF));
    d[r] = static_cast<int>(u);
  }
  // Into the register operand's layout; V's keys are reordered to match (int8_attention_key_position).
  // Even words hold row 0's bytes, odd words row 1's: one dp4a sums four of them.
  uint32_t sum[2] = {0u, 0u};  // unsigned: P's bytes run to 255
#pragma unroll
  for (int kk = 0; kk < kAccRegs / 16; ++kk) {
    const int b = 16 * kk;
    p[4 * kk + 0] = pack_low_bytes(d[b + 0], d[b + 1], d[b + 4], d[b + 5]);
    p[4 * kk + 1] = pack_low_bytes(d[b + 2], d[b + 3], d[b + 6], d[b + 7]);
    p[4 * kk + 2] = pack_low_bytes(d[b + 8], d[b + 9], d[b + 12], d[b + 13]);
    p[4 * kk + 3] = pack_low_bytes(d[b + 10], d[b + 11], d[b + 14], d[b + 15]);
#pragma unroll
    for (int w = 0; w < 4; ++w) sum[w & 1] = __dp4a(p[4 * kk + w], 0x01010101u, sum[w & 1]);
  }
#pragma unroll
  for (int i = 0; i < 2; ++i) l_run[i] = fmaf(l_run[i], alpha[i], beta[i] * static_cast<float>(sum[i]));
}

#endif  // WAN_INT8_ATTENTION_WGMMA

#ifdef WAN_INT8_ATTENTION_WGMMA
// Shared-memory barriers and the bulk copy engine (TMA's one-dimensional form): one thread
// moves a whole pre-swizzled tile, and the barrier counts its bytes in.
__device__ __forceinline__ void barrier_init(uint32_t bar, int count) {
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(bar), "r"(count) : "memory");
}
__device__ __forceinline__ void barrier_expect_bytes(uint32_t bar, uint32_t bytes) {
  asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\n" ::"r"(bar), "r"(bytes) : "memory");
}
__device__ __forceinline__ void barrier_wait(uint32_t bar, uint32_t parity) {
  asm volatile(
      "{\n.reg .pred done;\nWAIT:\n"
      "mbarrier.try_wait.parity.shared::cta.b64 done, [%0], %1;\n"
      "@!done bra WAIT;\n}\n" ::"r"(bar),
      "r"(parity)
      : "memory");
}
__device__ __forceinline__ void bulk_copy(uint32_t dst, const void* src, uint32_t bytes, uint32_t bar) {
  asm volatile("cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1], %2, [%3];\n" ::"r"(dst),
               "l"(src), "r"(bytes), "r"(bar)
               : "memory");
}
// Named barriers 1 and 2 take turns between the warpgroups: one issues its products while the
// other computes its softmax.
__device__ __forceinline__ void turn_wait(int wg) { asm volatile("bar.sync %0, 256;\n" ::"r"(1 + wg) : "memory"); }
__device__ __forceinline__ void turn_pass(int wg) { asm volatile("bar.arrive %0, 256;\n" ::"r"(2 - wg) : "memory"); }
#endif

__global__ void __launch_bounds__(kThreads, 1) int8_attention_kernel(const Int8AttentionArgs args) {
#ifdef WAN_INT8_ATTENTION_WGMMA
  extern __shared__ uint8_t smem[];
  const uint32_t raw = static_cast<uint32_t>(__cvta_generic_to_shared(smem));
  const uint32_t q_tile = (raw + 1023u) & ~1023u;
  // Stage s of the pipeline: K tile s, V tile s, key scales and shifts s; all on 1024-byte boundaries.
  const uint32_t k_tiles = q_tile + kTileBytes, v_tiles = k_tiles + kStages * kTileBytes;
  const uint32_t scales = v_tiles + kStages * kTileBytes;
  const uint32_t bars = scales + kStages * kScaleBytes;  // full[kStages], q_full, then release counters
  uint8_t* const smem_aligned = smem + (q_tile - raw);
  int* const released = reinterpret_cast<int*>(smem_aligned + (bars - q_tile) + 8 * (kStages + 1));

  const int b = blockIdx.z, h = blockIdx.y;
  const int64_t bh = static_cast<int64_t>(b) * args.heads + h;
  const int key_len = args.key_lengths ? args.key_lengths[b] : args.key_len;
  const int tiles = (key_len + kTile - 1) / kTile;
  const int tid = threadIdx.x, wg = tid >> 7, warp = (tid >> 5) & 3, lane = tid & 31, quad = lane & 3;
  const int8_t* k_src = args.k + bh * args.key_rows * kD;
  const int8_t* v_src = args.v_t + bh * args.key_rows * kD;
  const float* k_scale = args.k_scale + bh * args.key_rows * 2;  // two floats a key
  const uint32_t q_full = bars + 8 * kStages;
  auto load_stage = [&](int t) {
    const int s = t % kStages;
    const uint32_t bar = bars + 8 * s;
    barrier_expect_bytes(bar, kStageBytes);
    bulk_copy(k_tiles + s * kTileBytes, k_src + static_cast<int64_t>(t) * kTileBytes, kTileBytes, bar);
    bulk_copy(v_tiles + s * kTileBytes, v_src + static_cast<int64_t>(t) * kTileBytes, kTileBytes, bar);
    bulk_copy(scales + s * kScaleBytes, k_scale + static_cast<int64_t>(t) * kTile * 2, kScaleBytes, bar);
  };
  if (tid == 0) {
    for (int s = 0; s <= kStages; ++s) barrier_init(bars + 8 * s, 1);
    for (int s = 0; s < kStages; ++s) released[s] = 0;
    asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
  }
  __syncthreads();
  if (tid == 0 && tiles > 0) {  // (a copy nobody waits for could outlive the block)
    barrier_expect_bytes(q_full, kTileBytes);
    bulk_copy(q_tile, args.q + (bh * args.q_rows + static_cast<int64_t>(blockIdx.x) * kTile) * kD, kTileBytes, q_full);
    for (int t = 0; t < min(tiles, kStages); ++t) load_stage(t);
  }

  const int row0 = blockIdx.x * kTile + wg * 64 + warp * 16 + (lane >> 2);  // and row0 + 8
  const float* q_scale = args.q_scale + bh * args.q_rows;
  // Never zero (a query row of zeros): masked keys must stay at -inf after the scale.
  const float qs[2] = {fmaxf(q_scale[row0], 1e-30f), fmaxf(q_scale[row0 + 8], 1e-30f)};
  const uint64_t q_desc = smem_descriptor(q_tile + wg * 64 * kD);
  const float* scales_ptr = reinterpret_cast<const float*>(smem_aligned + (scales - q_tile));

  float o[kAccRegs];
#pragma unroll
  for (int r = 0; r < kAccRegs; ++r) o[r] = 0.f;
  float m_run[2] = {-INFINITY, -INFINITY}, l_run[2] = {0.f, 0.f}, alpha[2] = {1.f, 1.f}, beta[2] = {0.f, 0.f};
  int s_acc[kAccRegs], pv_acc[kAccRegs];
  uint32_t p[kAccRegs / 4];

  auto issue_s = [&](int t) {
    const uint64_t k_desc = smem_descriptor(k_tiles + (t % kStages) * kTileBytes);
#pragma unroll
    for (int kk = 0; kk < 4; ++kk) wgmma_ss(s_acc, q_desc + 2 * kk, k_desc + 2 * kk, kk);
    wgmma_commit();
  };
  auto issue_pv = [&](int t) {
    const uint64_t v_desc = smem_descriptor(v_tiles + (t % kStages) * kTileBytes);
#pragma unroll
    for (int kk = 0; kk < 4; ++kk)
      wgmma_rs(pv_acc, p[4 * kk], p[4 * kk + 1], p[4 * kk + 2], p[4 * kk + 3], v_desc + 2 * kk, kk);
    wgmma_commit();
  };
  auto softmax = [&](int t) {
    float ks[kAccRegs / 2], kshift[kAccRegs / 2];
    // Columns 8j + 2q and 8j + 2q + 1 are key pair 4j + q: their scales and shifts in one read.
    const float* tile_scales = scales_ptr + (t % kStages) * kTile * 2 + 4 * quad;
#pragma unroll
    for (int j = 0; j < kAccRegs / 4; ++j) {
      const float4 pair = *reinterpret_cast<const float4*>(tile_scales + 16 * j);
      ks[2 * j] = pair.x;
      ks[2 * j + 1] = pair.y;
      kshift[2 * j] = pair.z;
      kshift[2 * j + 1] = pair.w;
    }
    const int valid_cols = key_len - t * kTile;
    if (valid_cols >= kTile)
      softmax_tile<false>(s_acc, p, ks, kshift, qs, m_run, l_run, alpha, beta, valid_cols, quad);
    else
      softmax_tile<true>(s_acc, p, ks, kshift, qs, m_run, l_run, alpha, beta, valid_cols, quad);
  };
  // o alpha + (kMagicF + pv) beta - kMagicF beta, the last term taken first: o alpha - kMagicF beta
  // sits near kMagicF beta, where float32 steps by about beta, a unit of the integer sums.
  auto accumulate = [&]() {
    const float shift[2] = {-kMagicF * beta[0], -kMagicF * beta[1]};
#pragma unroll
    for (int r = 0; r < kAccRegs; ++r) {
      const int i = (r >> 1) & 1;
      o[r] = fmaf(__int_as_float(pv_acc[r] + static_cast<int>(kMagic)), beta[i], fmaf(o[r], alpha[i], shift[i]));
    }
  };
  // A stage is free once all eight warps are past the products and loads that read it; the last
  // of them refills it with the tile kStages further on. The count only grows: eight arrivals a
  // use. The fences order this warp's reads (generic and async proxy) before the refill's writes.
  auto release = [&](int t) {
    __syncwarp();
    if (lane == 0) {
      asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
      __threadfence_block();
      if ((atomicAdd(&released[t % kStages], 1) & 7) == 7 && t + kStages < tiles) {
        __threadfence_block();
        load_stage(t + kStages);
      }
    }
    __syncwarp();  // the warp reconverged before the .aligned wgmma wait that follows
  };

  if (tiles > 0) {  // (no keys: the output is the value mean, as l = 0 leaves it)
    if (wg == 1) turn_pass(wg);  // warpgroup 0 takes the first turn
    barrier_wait(q_full, 0);
    barrier_wait(bars, 0);
    turn_wait(wg);
    wgmma_fence();
    issue_s(0);
    turn_pass(wg);
    wgmma_wait_all();
    fence_operands(s_acc);
    softmax(0);
    for (int t = 1; t < tiles; ++t) {
      barrier_wait(bars + 8 * (t % kStages), (t / kStages) & 1);
      turn_wait(wg);
      wgmma_fence();
      issue_pv(t - 1);
      issue_s(t);
      turn_pass(wg);
      wgmma_wait_one();
      fence_operands(pv_acc);
      release(t - 1);
      accumulate();
      wgmma_wait_all();
      fence_operands(s_acc);
      softmax(t);
    }
    turn_wait(wg);
    wgmma_fence();
    issue_pv(tiles - 1);
    if (wg == 0) turn_pass(wg);  // warpgroup 1's last pass would have no turn to match
    wgmma_wait_all();
    fence_operands(pv_acc);
    accumulate();
  }

  float inv[2];
#pragma unroll
  for (int i = 0; i < 2; ++i) {
    float l = l_run[i];
    l += __shfl_xor_sync(0xffffffffu, l, 1);
    l += __shfl_xor_sync(0xffffffffu, l, 2);
    inv[i] = l > 0.f ? 1.f / l : 0.f;
  }
  const float* v_scale = args.v_scale + bh * kD;
  const float* v_mean = args.v_mean + bh * kD;
#pragma unroll
  for (int j = 0; j < 16; ++j) {
    const int col = 8 * j + 2 * quad;
    const float s0 = v_scale[col], s1 = v_scale[col + 1], m0 = v_mean[col], m1 = v_mean[col + 1];
#pragma unroll
    for (int i = 0; i < 2; ++i) {
      const int row = row0 + 8 * i;
      if (row >= args.q_len) continue;
      const __nv_bfloat162 pair = __floats2bfloat162_rn(fmaf(o[4 * j + 2 * i] * inv[i], s0, m0),
                                                        fmaf(o[4 * j + 2 * i + 1] * inv[i], s1, m1));
      *reinterpret_cast<__nv_bfloat162*>(args.out + ((static_cast<int64_t>(b) * args.q_len + row) * args.heads + h) * kD +
                                         col) = pair;
    }
  }
#endif  // WAN_INT8_ATTENTION_WGMMA
}

}  // namespace

bool int8_attention_kernel_runs_on(int device, const char** why) {
  cudaDeviceProp props{};
  if (cudaGetDeviceProperties(&props, device) != cudaSuccess) {
    if (why) *why = "the CUDA device's properties could not be read";
    return false;
  }
  if (props.major != 9 || props.minor != 0) {
    if (why) *why = "the 8-bit attention kernel is built for Hopper (compute capability 9.0) only";
    return false;
  }
  cudaFuncAttributes attributes{};
  if (cudaFuncGetAttributes(&attributes, int8_attention_kernel) != cudaSuccess || attributes.binaryVersion < 90) {
    cudaGetLastError();
    if (why) *why = "this build has no sm_90a code for the 8-bit attention kernel";
    return false;
  }
  return true;
}

void launch_int8_attention(const Int8AttentionArgs& args, cudaStream_t stream) {
  cudaFuncSetAttribute(int8_attention_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, kSmemBytes);
  const dim3 grid(args.q_rows / kTile, args.heads, args.batch);
  int8_attention_kernel<<<grid, kThreads, kSmemBytes, stream>>>(args);
}

}  // namespace wan::cuda
