/* cuda_narrow_floats.h - the f32 <-> narrow float conversions of the
 * device code (f16, bf16, f8e4m3, f8e5m2: ebits and mbits, fn for the
 * finite-only layout whose all-ones pattern is NaN), bit for bit the
 * runtime's dtype.c: round to nearest even, NaN stays NaN, overflow to
 * inf (fn: NaN); the widening exact. One CUDA C text, as a C string
 * literal, for the two sources that compile it with NVRTC: the kernels tdc
 * generates (compiler/emit_cuda.c) and the runtime's contraction kernel
 * (runtime/cuda/gemm.c); and the integer types they need. Also the line
 * the generated source puts after its common part, where the runtime cuts
 * the kernels into programs compiled apart (runtime/cuda/device.c), and
 * the wait every kernel of both starts with. */
#ifndef TD_CUDA_NARROW_FLOATS_H
#define TD_CUDA_NARROW_FLOATS_H

/* Ends the common part (types, helpers) of a generated source: the
 * kernels after it compile apart (td_cuda_split_source). */
#define TD_CUDA_APART "/* ---- the kernels: each compiles after the lines above, apart from the others ---- */\n"

/* TD_GRID_WAIT(), the first statement of every kernel tdc generates and
 * of the runtime's own (gemm.c, optim.c): on sm_90 and later it waits
 * until the kernels before it in the stream have finished and their writes
 * are visible (griddepcontrol.wait), so that the runtime may launch it
 * while the one before is still finishing (a programmatic dependent launch,
 * td_cuda_launch); launched plainly, or before sm_90, it does nothing.
 * Nothing of the kernel's may touch global memory before it. */
#define TD_CUDA_GRID_WAIT \
    "#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900\n" \
    "#define TD_GRID_WAIT() asm volatile(\"griddepcontrol.wait;\" : : : \"memory\")\n" \
    "#else\n" \
    "#define TD_GRID_WAIT() ((void)0)\n" \
    "#endif\n"

/* NVRTC has no <stdint.h> without the toolkit's headers: the fixed-width
 * integer types both sources use. */
#define TD_CUDA_INT_TYPES \
    "typedef long long int64_t;\n" \
    "typedef unsigned long long uint64_t;\n" \
    "typedef int int32_t;\n" \
    "typedef unsigned int uint32_t;\n" \
    "typedef unsigned short uint16_t;\n" \
    "typedef unsigned char uint8_t;\n"

#define TD_CUDA_NARROW_FLOATS \
    "/* f32 -> a narrow float: round to nearest even; NaN stays NaN; overflow to inf (fn: NaN) */\n" \
    "__device__ inline uint32_t tdg_narrow(float x, int ebits, int mbits, bool fn)\n" \
    "{\n" \
    "    const int bias = (1 << (ebits - 1)) - 1, shift = 23 - mbits;\n" \
    "    const uint32_t sign_out = 1u << (ebits + mbits), exp_all = ((1u << ebits) - 1) << mbits;\n" \
    "    const uint32_t overflow = fn ? exp_all | ((1u << mbits) - 1) : exp_all;\n" \
    "    const uint32_t nan = fn ? overflow : exp_all | (1u << (mbits - 1));\n" \
    "    uint32_t u = __float_as_uint(x), sign = (u >> 31) ? sign_out : 0, a = u & 0x7fffffffu, r;\n" \
    "    if (a > 0x7f800000u)\n" \
    "        return sign | nan;\n" \
    "    if (a == 0x7f800000u)\n" \
    "        return sign | overflow;\n" \
    "    int e = (int)(a >> 23), te = (e ? e : 1) - 127 + bias;\n" \
    "    if (e != 0 && te >= 1) {\n" \
    "        uint32_t m = a - ((uint32_t)(127 - bias) << 23);\n" \
    "        r = (m + (1u << (shift - 1)) - 1 + ((m >> shift) & 1)) >> shift;\n" \
    "    } else {\n" \
    "        uint32_t sig = e ? (a & 0x7fffffu) | 0x800000u : a;\n" \
    "        int sh = shift + 1 - te;\n" \
    "        if (sh > 25)\n" \
    "            return sign;\n" \
    "        uint32_t half = 1u << (sh - 1), rem = sig & ((half << 1) - 1);\n" \
    "        r = sig >> sh;\n" \
    "        if (rem > half || (rem == half && (r & 1)))\n" \
    "            r++;\n" \
    "    }\n" \
    "    return r >= overflow ? sign | overflow : sign | r;\n" \
    "}\n" \
    "__device__ inline float tdg_widen(uint32_t code, int ebits, int mbits, bool fn)\n" \
    "{\n" \
    "    const int bias = (1 << (ebits - 1)) - 1;\n" \
    "    const uint32_t emax = (1u << ebits) - 1, mmask = (1u << mbits) - 1;\n" \
    "    uint32_t sign = (code >> (ebits + mbits) & 1) << 31, ef = (code >> mbits) & emax, mant = code & mmask;\n" \
    "    if (fn ? (ef == emax && mant == mmask) : ef == emax) {\n" \
    "        if (mant != 0 && ebits + mbits + 1 == 8)\n" \
    "            return __uint_as_float(sign | 0x7fc00000u);\n" \
    "        return __uint_as_float(sign | 0x7f800000u | mant << (23 - mbits));\n" \
    "    }\n" \
    "    if (ef == 0) {\n" \
    "        if (mant == 0)\n" \
    "            return __uint_as_float(sign);\n" \
    "        if (bias == 127)\n" \
    "            return __uint_as_float(sign | mant << (23 - mbits));\n" \
    "        int e = 1 - bias + 127;\n" \
    "        while (!(mant & (1u << mbits))) {\n" \
    "            mant <<= 1;\n" \
    "            e--;\n" \
    "        }\n" \
    "        return __uint_as_float(sign | (uint32_t)e << 23 | (mant & mmask) << (23 - mbits));\n" \
    "    }\n" \
    "    return __uint_as_float(sign | (ef - (uint32_t)bias + 127) << 23 | mant << (23 - mbits));\n" \
    "}\n"

#endif
