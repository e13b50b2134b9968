// The eBPF instruction set, described once.
//
// Every instruction form the VM knows is one row of USERBPF_VM_OPS below: its
// semantic op (vm::Op), the opcode byte, which other field tells it apart from
// forms sharing that byte (off for sdiv/movsx, imm for atomics and byte swaps,
// src for calls), the ISA version that introduced it, its operand shape and its
// name in the conformance suite's assembler. The decoder, disassembler,
// assembler and interpreter are all generated from or switch over this table:
// adding a row makes the interpreter fail to compile until the new op has a
// handler (its label table is built from the same list), and every
// `switch (Shape)` is exhaustive (-Wswitch) so a new shape is flagged too.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace userbpf::vm {

// ---- raw instruction fields (the kernel's uapi encoding)
enum : uint8_t {
  kClassLd = 0x00, kClassLdx = 0x01, kClassSt = 0x02, kClassStx = 0x03,
  kClassAlu = 0x04, kClassJmp = 0x05, kClassJmp32 = 0x06, kClassAlu64 = 0x07,
};
enum : uint8_t { kSrcK = 0x00, kSrcX = 0x08 };
enum : uint8_t { kSizeW = 0x00, kSizeH = 0x08, kSizeB = 0x10, kSizeDW = 0x18 };
enum : uint8_t { kModeImm = 0x00, kModeAbs = 0x20, kModeInd = 0x40, kModeMem = 0x60, kModeMemSx = 0x80, kModeAtomic = 0xc0 };

// Atomic operations (the imm of a BPF_ATOMIC instruction).
enum : int32_t {
  kAtomicFetch = 0x01,
  kAtomicXchg = 0xe0 | kAtomicFetch,
  kAtomicCmpXchg = 0xf0 | kAtomicFetch,
};

// Sources of LD_IMM64 (its src_reg): what the loader must put in its 64 bits.
enum class Pseudo : uint8_t {
  kNone = 0,          // plain 64-bit constant
  kMapFd = 1,         // imm = map fd -> map pointer
  kMapValue = 2,      // imm = map fd, next imm = offset -> address in the map's value
  kBtfId = 3,         // imm = BTF id of a kernel variable
  kFunc = 4,          // imm = relative insn offset of a subprogram -> its address
  kMapIdx = 5,        // imm = index into the fd_array
  kMapIdxValue = 6,   // imm = index into the fd_array, next imm = offset
};
inline constexpr uint8_t kMaxPseudo = 6;

// Call sources (src_reg of BPF_CALL).
enum : uint8_t { kCallHelper = 0, kCallPseudo = 1, kCallKfunc = 2 };

inline constexpr int kNumRegs = 11;          // r0..r10
inline constexpr int kFrameReg = 10;
inline constexpr int kMaxCallFrames = 8;     // MAX_CALL_FRAMES
inline constexpr int kStackSize = 512;       // MAX_BPF_STACK, per frame
inline constexpr uint32_t kMaxInsns = 1000000; // BPF_COMPLEXITY_LIMIT_INSNS

// How an instruction's operands look (drives assembler and disassembler).
enum class Shape : uint8_t {
  kAluImm,    // dst op= imm
  kAluReg,    // dst op= src
  kNeg,       // dst = -dst
  kEndian,    // dst = be16/le32/bswap64 dst
  kLdImm64,   // dst = imm64 (two slots)
  kLoad,      // dst = *(size *)(src + off)
  kStoreImm,  // *(size *)(dst + off) = imm
  kStoreReg,  // *(size *)(dst + off) = src
  kAtomic,    // atomic op on *(size *)(dst + off) with src
  kJa,        // goto pc + off
  kJa32,      // gotol pc + imm
  kJumpImm,   // if dst cmp imm goto pc + off
  kJumpReg,   // if dst cmp src goto pc + off
  kCall,      // helper call, imm = helper id
  kCallLocal, // bpf-to-bpf call, imm = relative offset
  kCallReg,   // callx dst
  kExit,
  // The legacy packet loads (classic BPF's, kept for socket-buffer programs):
  // r0 = ntoh(*(size *)(packet + imm)), or + src for LD_IND; r6 holds the
  // context. Out of the packet, the function returns 0 at once.
  kLdAbs,     // r0 = *(size *)skb[imm]
  kLdInd,     // r0 = *(size *)skb[src + imm]
};

// Which field, beyond the opcode byte, selects a row.
enum class Match : uint8_t { kNone, kOff, kImm, kSrc };

// clang-format off
// X(Name, opcode, match, match_value, isa_version, shape, asm_name, symbol)
// `symbol` is the operator the kernel's disassembler prints ("+=", "s>", ...).
#define USERBPF_VM_ALU(X, N, code, asm, sym, ver)                             \
  X(N##64_IMM, 0x07 | (code), kOff, 0, ver, kAluImm, asm, sym)                 \
  X(N##64_REG, 0x0f | (code), kOff, 0, ver, kAluReg, asm, sym)                 \
  X(N##32_IMM, 0x04 | (code), kOff, 0, ver, kAluImm, asm "32", sym)            \
  X(N##32_REG, 0x0c | (code), kOff, 0, ver, kAluReg, asm "32", sym)
#define USERBPF_VM_SALU(X, N, code, asm, sym)                                 \
  X(N##64_IMM, 0x07 | (code), kOff, 1, 4, kAluImm, asm, sym)                   \
  X(N##64_REG, 0x0f | (code), kOff, 1, 4, kAluReg, asm, sym)                   \
  X(N##32_IMM, 0x04 | (code), kOff, 1, 4, kAluImm, asm "32", sym)              \
  X(N##32_REG, 0x0c | (code), kOff, 1, 4, kAluReg, asm "32", sym)
#define USERBPF_VM_JMP(X, N, code, asm, sym, ver)                             \
  X(N##_IMM, 0x05 | (code), kNone, 0, ver, kJumpImm, asm, sym)                 \
  X(N##_REG, 0x0d | (code), kNone, 0, ver, kJumpReg, asm, sym)                 \
  X(N##32_IMM, 0x06 | (code), kNone, 0, 3, kJumpImm, asm "32", sym)            \
  X(N##32_REG, 0x0e | (code), kNone, 0, 3, kJumpReg, asm "32", sym)
#define USERBPF_VM_ATOMIC(X, N, imm, asm, sym, ver)                           \
  X(N##64, 0xdb, kImm, imm, ver, kAtomic, asm, sym)                            \
  X(N##32, 0xc3, kImm, imm, ver, kAtomic, asm "32", sym)

#define USERBPF_VM_OPS(X)                                                      \
  USERBPF_VM_ALU(X, ADD, 0x00, "add", "+=", 1)                                 \
  USERBPF_VM_ALU(X, SUB, 0x10, "sub", "-=", 1)                                 \
  USERBPF_VM_ALU(X, MUL, 0x20, "mul", "*=", 1)                                 \
  USERBPF_VM_ALU(X, DIV, 0x30, "div", "/=", 1)                                 \
  USERBPF_VM_ALU(X, OR, 0x40, "or", "|=", 1)                                   \
  USERBPF_VM_ALU(X, AND, 0x50, "and", "&=", 1)                                 \
  USERBPF_VM_ALU(X, LSH, 0x60, "lsh", "<<=", 1)                                \
  USERBPF_VM_ALU(X, RSH, 0x70, "rsh", ">>=", 1)                                \
  USERBPF_VM_ALU(X, MOD, 0x90, "mod", "%=", 1)                                 \
  USERBPF_VM_ALU(X, XOR, 0xa0, "xor", "^=", 1)                                 \
  USERBPF_VM_ALU(X, MOV, 0xb0, "mov", "=", 1)                                  \
  USERBPF_VM_ALU(X, ARSH, 0xc0, "arsh", "s>>=", 1)                             \
  USERBPF_VM_SALU(X, SDIV, 0x30, "sdiv", "s/=")                                \
  USERBPF_VM_SALU(X, SMOD, 0x90, "smod", "s%=")                                \
  X(NEG64, 0x87, kOff, 0, 1, kNeg, "neg", "-")                                 \
  X(NEG32, 0x84, kOff, 0, 1, kNeg, "neg32", "-")                               \
  X(MOVSX8_64, 0xbf, kOff, 8, 4, kAluReg, "movsx864", "=")                     \
  X(MOVSX16_64, 0xbf, kOff, 16, 4, kAluReg, "movsx1664", "=")                  \
  X(MOVSX32_64, 0xbf, kOff, 32, 4, kAluReg, "movsx3264", "=")                  \
  X(MOVSX8_32, 0xbc, kOff, 8, 4, kAluReg, "movsx832", "=")                     \
  X(MOVSX16_32, 0xbc, kOff, 16, 4, kAluReg, "movsx1632", "=")                  \
  X(LE16, 0xd4, kImm, 16, 1, kEndian, "le16", "le16")                          \
  X(LE32, 0xd4, kImm, 32, 1, kEndian, "le32", "le32")                          \
  X(LE64, 0xd4, kImm, 64, 1, kEndian, "le64", "le64")                          \
  X(BE16, 0xdc, kImm, 16, 1, kEndian, "be16", "be16")                          \
  X(BE32, 0xdc, kImm, 32, 1, kEndian, "be32", "be32")                          \
  X(BE64, 0xdc, kImm, 64, 1, kEndian, "be64", "be64")                          \
  X(BSWAP16, 0xd7, kImm, 16, 4, kEndian, "bswap16", "bswap16")                 \
  X(BSWAP32, 0xd7, kImm, 32, 4, kEndian, "bswap32", "bswap32")                 \
  X(BSWAP64, 0xd7, kImm, 64, 4, kEndian, "bswap64", "bswap64")                 \
  X(LD_IMM64, 0x18, kNone, 0, 1, kLdImm64, "lddw", "")                         \
  X(LDXW, 0x61, kNone, 0, 1, kLoad, "ldxw", "u32")                             \
  X(LDXH, 0x69, kNone, 0, 1, kLoad, "ldxh", "u16")                             \
  X(LDXB, 0x71, kNone, 0, 1, kLoad, "ldxb", "u8")                              \
  X(LDXDW, 0x79, kNone, 0, 1, kLoad, "ldxdw", "u64")                           \
  X(LDXSW, 0x81, kNone, 0, 4, kLoad, "ldxsw", "s32")                           \
  X(LDXSH, 0x89, kNone, 0, 4, kLoad, "ldxsh", "s16")                           \
  X(LDXSB, 0x91, kNone, 0, 4, kLoad, "ldxsb", "s8")                            \
  X(STW, 0x62, kNone, 0, 1, kStoreImm, "stw", "u32")                           \
  X(STH, 0x6a, kNone, 0, 1, kStoreImm, "sth", "u16")                           \
  X(STB, 0x72, kNone, 0, 1, kStoreImm, "stb", "u8")                            \
  X(STDW, 0x7a, kNone, 0, 1, kStoreImm, "stdw", "u64")                         \
  X(STXW, 0x63, kNone, 0, 1, kStoreReg, "stxw", "u32")                         \
  X(STXH, 0x6b, kNone, 0, 1, kStoreReg, "stxh", "u16")                         \
  X(STXB, 0x73, kNone, 0, 1, kStoreReg, "stxb", "u8")                          \
  X(STXDW, 0x7b, kNone, 0, 1, kStoreReg, "stxdw", "u64")                       \
  USERBPF_VM_ATOMIC(X, ATOMIC_ADD, 0x00, "add", "+=", 1)                       \
  USERBPF_VM_ATOMIC(X, ATOMIC_OR, 0x40, "or", "|=", 3)                         \
  USERBPF_VM_ATOMIC(X, ATOMIC_AND, 0x50, "and", "&=", 3)                       \
  USERBPF_VM_ATOMIC(X, ATOMIC_XOR, 0xa0, "xor", "^=", 3)                       \
  USERBPF_VM_ATOMIC(X, ATOMIC_FETCH_ADD, 0x01, "fetch add", "add", 3)          \
  USERBPF_VM_ATOMIC(X, ATOMIC_FETCH_OR, 0x41, "fetch or", "or", 3)             \
  USERBPF_VM_ATOMIC(X, ATOMIC_FETCH_AND, 0x51, "fetch and", "and", 3)          \
  USERBPF_VM_ATOMIC(X, ATOMIC_FETCH_XOR, 0xa1, "fetch xor", "xor", 3)          \
  USERBPF_VM_ATOMIC(X, ATOMIC_XCHG, 0xe1, "xchg", "xchg", 3)                   \
  USERBPF_VM_ATOMIC(X, ATOMIC_CMPXCHG, 0xf1, "cmpxchg", "cmpxchg", 3)          \
  X(JA, 0x05, kNone, 0, 1, kJa, "ja", "")                                      \
  X(GOTOL, 0x06, kNone, 0, 4, kJa32, "ja32", "")                               \
  USERBPF_VM_JMP(X, JEQ, 0x10, "jeq", "==", 1)                                 \
  USERBPF_VM_JMP(X, JGT, 0x20, "jgt", ">", 1)                                  \
  USERBPF_VM_JMP(X, JGE, 0x30, "jge", ">=", 1)                                 \
  USERBPF_VM_JMP(X, JSET, 0x40, "jset", "&", 1)                                \
  USERBPF_VM_JMP(X, JNE, 0x50, "jne", "!=", 1)                                 \
  USERBPF_VM_JMP(X, JSGT, 0x60, "jsgt", "s>", 1)                               \
  USERBPF_VM_JMP(X, JSGE, 0x70, "jsge", "s>=", 1)                              \
  USERBPF_VM_JMP(X, JLT, 0xa0, "jlt", "<", 2)                                  \
  USERBPF_VM_JMP(X, JLE, 0xb0, "jle", "<=", 2)                                 \
  USERBPF_VM_JMP(X, JSLT, 0xc0, "jslt", "s<", 2)                               \
  USERBPF_VM_JMP(X, JSLE, 0xd0, "jsle", "s<=", 2)                              \
  X(CALL, 0x85, kSrc, kCallHelper, 1, kCall, "call", "")                       \
  X(CALL_LOCAL, 0x85, kSrc, kCallPseudo, 1, kCallLocal, "call local", "")      \
  X(CALLX, 0x8d, kNone, 0, 4, kCallReg, "call", "")                            \
  X(EXIT, 0x95, kNone, 0, 1, kExit, "exit", "")                                \
  X(LDABSW, 0x20, kNone, 0, 1, kLdAbs, "ldabsw", "u32")                        \
  X(LDABSH, 0x28, kNone, 0, 1, kLdAbs, "ldabsh", "u16")                        \
  X(LDABSB, 0x30, kNone, 0, 1, kLdAbs, "ldabsb", "u8")                         \
  X(LDINDW, 0x40, kNone, 0, 1, kLdInd, "ldindw", "u32")                        \
  X(LDINDH, 0x48, kNone, 0, 1, kLdInd, "ldindh", "u16")                        \
  X(LDINDB, 0x50, kNone, 0, 1, kLdInd, "ldindb", "u8")
// clang-format on

enum class Op : uint8_t {
#define USERBPF_VM_ENUM(N, ...) N,
  USERBPF_VM_OPS(USERBPF_VM_ENUM)
#undef USERBPF_VM_ENUM
};

struct OpInfo {
  Op op;
  uint8_t opcode;
  Match match;
  int32_t match_value;
  uint8_t isa_version; // 1..4: the -mcpu=vN that introduced it
  Shape shape;
  std::string_view name;     // enum name, e.g. "ADD64_IMM"
  std::string_view asm_name; // conformance assembler mnemonic
  std::string_view symbol;   // disassembler operator / size string
};

inline constexpr OpInfo kOps[] = {
#define USERBPF_VM_ROW(N, code, m, mv, ver, shape, asm, sym) \
  {Op::N, uint8_t(code), Match::m, mv, ver, Shape::shape, #N, asm, sym},
    USERBPF_VM_OPS(USERBPF_VM_ROW)
#undef USERBPF_VM_ROW
};
inline constexpr size_t kNumOps = sizeof(kOps) / sizeof(kOps[0]);

constexpr const OpInfo &op_info(Op op) { return kOps[static_cast<size_t>(op)]; }

// Properties derived from the opcode byte.
constexpr uint8_t op_class(uint8_t opcode) { return opcode & 0x07; }
constexpr bool is_alu32(uint8_t opcode) { return op_class(opcode) == kClassAlu; }
constexpr bool is_jmp32(uint8_t opcode) { return op_class(opcode) == kClassJmp32; }
constexpr bool uses_w_regs(uint8_t opcode) { return is_alu32(opcode) || is_jmp32(opcode); }
// Memory access width in bytes of a load/store/atomic opcode.
constexpr int access_size(uint8_t opcode) {
  switch (opcode & 0x18) {
  case kSizeW: return 4;
  case kSizeH: return 2;
  case kSizeB: return 1;
  default: return 8;
  }
}

// LD_ABS / LD_IND: the fields the kernel reserves (dst must be r0, off 0, and
// src 0 for LD_ABS) are checked by the verifier, after the program type, as
// the kernel orders its messages; running one whose fields are not so is
// refused (Program::create, the JIT).
constexpr bool is_ld_packet(Shape s) { return s == Shape::kLdAbs || s == Shape::kLdInd; }

// The raw 8-byte instruction (struct bpf_insn).
struct RawInsn {
  uint8_t code;
  uint8_t dst : 4;
  uint8_t src : 4;
  int16_t off;
  int32_t imm;
};
static_assert(sizeof(RawInsn) == 8);

// The row matching a raw instruction, or nullptr if no form has this
// opcode byte with this off/imm/src.
const OpInfo *find_op(const RawInsn &insn);
// True if some row uses this opcode byte (to tell "unknown opcode" from
// "reserved field set").
bool opcode_known(uint8_t opcode);

} // namespace userbpf::vm
