/*
 * brtrace: a QEMU (>= 7.2, plugin API v1) TCG plugin that records every branch of an
 * x86-64 user-mode program. Part of workbench.branch; built on first use by
 * workbench.branch.trace_program (gcc -O2 -shared -fPIC -fvisibility=hidden).
 *
 * Debian ships qemu-user with plugin support but no qemu-plugin.h, so the dozen API
 * functions used here are declared by hand (signatures of include/qemu/qemu-plugin.h,
 * QEMU 7.2).
 *
 * Method: at translation time each translation block (TB) gets a record {start, address and
 * length of its last instruction, instruction count, branch class of the last instruction,
 * decoded from its bytes}. x86 TCG ends a TB at every control transfer, so at execution time
 * the previous TB's last instruction is a branch iff its class is set, and a conditional one
 * was taken iff the current TB does not start at its fall-through address. Targets equal to
 * the fall-through read as not taken. Single-threaded guests only (global state).
 *
 * Output (argument out=PATH): 24-byte little-endian records
 *   u64 pc, u64 target (the next TB start), u64 info
 *   info bits 0-31: guest instructions executed since the previous record, including this
 *   branch; bits 32-39: kind (workbench.branch KIND_* code); bit 40: taken.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef uint64_t qemu_plugin_id_t;
typedef struct qemu_info_t qemu_info_t;
struct qemu_plugin_tb;
struct qemu_plugin_insn;
enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS, QEMU_PLUGIN_CB_R_REGS, QEMU_PLUGIN_CB_RW_REGS };
typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);
typedef void (*qemu_plugin_vcpu_udata_cb_t)(unsigned int vcpu_index, void *userdata);
typedef void (*qemu_plugin_udata_cb_t)(qemu_plugin_id_t id, void *userdata);

void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_tb_trans_cb_t cb);
void qemu_plugin_register_vcpu_tb_exec_cb(struct qemu_plugin_tb *tb, qemu_plugin_vcpu_udata_cb_t cb,
                                          enum qemu_plugin_cb_flags flags, void *userdata);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
uint64_t qemu_plugin_tb_vaddr(const struct qemu_plugin_tb *tb);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb, size_t idx);
const void *qemu_plugin_insn_data(const struct qemu_plugin_insn *insn);
size_t qemu_plugin_insn_size(const struct qemu_plugin_insn *insn);
uint64_t qemu_plugin_insn_vaddr(const struct qemu_plugin_insn *insn);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, qemu_plugin_udata_cb_t cb, void *userdata);
void qemu_plugin_outs(const char *string);

#define EXPORT __attribute__((visibility("default")))
EXPORT int qemu_plugin_version = 1;

/* kinds, as in workbench/branch/_trace.py */
#define K_JMP 0
#define K_CALL 1
#define K_RET 2
#define K_IND 4
#define K_COND 8
#define K_NONE 255

typedef struct {
    uint64_t start, last_pc, fallthrough;
    uint32_t n_insns;
    uint8_t kind;
} tb_info;

static FILE *out;
static const tb_info *prev;
static uint64_t pending;          /* instructions since the last record */
static uint64_t n_records, n_cond;
static uint64_t buf[3 * 4096];
static size_t nbuf;

static uint8_t classify(const uint8_t *b, size_t len)
{
    size_t i = 0;
    while (i < len) {
        uint8_t c = b[i];
        if (c == 0x66 || c == 0x67 || c == 0xF2 || c == 0xF3 || c == 0x2E || c == 0x3E ||
            c == 0x26 || c == 0x64 || c == 0x65 || c == 0x36 || c == 0xF0 ||
            (c >= 0x40 && c <= 0x4F)) {
            i++;
            continue;
        }
        break;
    }
    if (i >= len) return K_NONE;
    uint8_t op = b[i];
    if (op >= 0x70 && op <= 0x7F) return K_JMP | K_COND;
    if (op >= 0xE0 && op <= 0xE3) return K_JMP | K_COND;
    if (op == 0x0F && i + 1 < len && b[i + 1] >= 0x80 && b[i + 1] <= 0x8F) return K_JMP | K_COND;
    if (op == 0xE9 || op == 0xEB) return K_JMP;
    if (op == 0xE8) return K_CALL;
    if (op == 0xC2 || op == 0xC3 || op == 0xCA || op == 0xCB) return K_RET | K_IND;
    if (op == 0xFF && i + 1 < len) {
        uint8_t reg = (b[i + 1] >> 3) & 7;
        if (reg == 2 || reg == 3) return K_CALL | K_IND;
        if (reg == 4 || reg == 5) return K_JMP | K_IND;
    }
    return K_NONE;
}

static void flush(void)
{
    if (nbuf) fwrite(buf, sizeof(uint64_t), nbuf, out);
    nbuf = 0;
}

static void emit(uint64_t pc, uint64_t target, uint64_t info)
{
    buf[nbuf++] = pc;
    buf[nbuf++] = target;
    buf[nbuf++] = info;
    if (nbuf == sizeof(buf) / sizeof(buf[0])) flush();
}

static void tb_exec(unsigned int vcpu, void *udata)
{
    const tb_info *cur = (const tb_info *)udata;
    (void)vcpu;
    if (prev && prev->kind != K_NONE) {
        uint64_t taken = 1;
        if (prev->kind & K_COND) {
            taken = cur->start != prev->fallthrough;
            n_cond++;
        }
        uint64_t count = pending > 0xFFFFFFFFu ? 0xFFFFFFFFu : pending;
        emit(prev->last_pc, cur->start, count | ((uint64_t)prev->kind << 32) | (taken << 40));
        n_records++;
        pending = 0;
    }
    pending += cur->n_insns;
    prev = cur;
}

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    (void)id;
    size_t n = qemu_plugin_tb_n_insns(tb);
    tb_info *info = calloc(1, sizeof(tb_info)); /* lives as long as the TB may run */
    info->start = qemu_plugin_tb_vaddr(tb);
    info->n_insns = (uint32_t)n;
    info->kind = K_NONE;
    if (n > 0) {
        struct qemu_plugin_insn *last = qemu_plugin_tb_get_insn(tb, n - 1);
        size_t len = qemu_plugin_insn_size(last);
        info->last_pc = qemu_plugin_insn_vaddr(last);
        info->fallthrough = info->last_pc + len;
        info->kind = classify((const uint8_t *)qemu_plugin_insn_data(last), len);
    }
    qemu_plugin_register_vcpu_tb_exec_cb(tb, tb_exec, QEMU_PLUGIN_CB_NO_REGS, info);
}

static void at_exit(qemu_plugin_id_t id, void *udata)
{
    (void)id;
    (void)udata;
    if (prev && prev->kind != K_NONE) {  /* the last branch: target unknown, taken as 1 */
        uint64_t count = pending > 0xFFFFFFFFu ? 0xFFFFFFFFu : pending;
        emit(prev->last_pc, 0, count | ((uint64_t)prev->kind << 32) | ((uint64_t)1 << 40));
        n_records++;
        pending = 0;
    }
    /* trailing instructions after the last branch: a record with kind 255 */
    emit(0, 0, (pending > 0xFFFFFFFFu ? 0xFFFFFFFFu : pending) | ((uint64_t)K_NONE << 32));
    flush();
    fclose(out);
    char msg[128];
    snprintf(msg, sizeof msg, "brtrace: %llu branch records, %llu conditional\n",
             (unsigned long long)n_records, (unsigned long long)n_cond);
    qemu_plugin_outs(msg);
}

EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv)
{
    const char *path = NULL;
    (void)info;
    for (int i = 0; i < argc; i++) {
        if (strncmp(argv[i], "out=", 4) == 0) path = argv[i] + 4;
    }
    if (!path) {
        fprintf(stderr, "brtrace: missing out=PATH argument\n");
        return -1;
    }
    out = fopen(path, "wb");
    if (!out) {
        fprintf(stderr, "brtrace: cannot open %s\n", path);
        return -1;
    }
    qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
    qemu_plugin_register_atexit_cb(id, at_exit, NULL);
    return 0;
}
