/*
 * storage/faulty.h — a fault-injecting storage wrapper for tests.
 *
 * ls_storage_faulty_wrap() returns a storage that forwards every call to an
 * inner storage (through the ls_storage_* wrappers, so the inner storage's
 * own checks and counters still apply) and fails calls according to rules:
 *
 *   ls_faulty_fail_nth(f, ops, nth, code)  the nth matching call from now
 *                                          (1-based) fails once
 *   ls_faulty_fail_every(f, ops, code)     every matching call fails until
 *                                          ls_faulty_clear()
 *   ls_faulty_fail_reads(f, after, code, n)readers returned by the next n
 *                                          gets (0: all) fail once `after`
 *                                          bytes have been delivered; with
 *                                          code LS_OK they end early
 *                                          (premature EOF) instead
 *   ls_faulty_set_key_filter(f, substr)    rules only match keys/prefixes
 *                                          containing substr (NULL: all)
 *
 * A failing put/del normally fails BEFORE reaching the inner storage (nothing
 * stored/deleted). With ls_faulty_set_after(f, true) the inner call runs
 * first and its success is then reported as the failure (lost response:
 * tests idempotent retries). Injected errors say "injected fault" and name
 * the op and key. The wrapper inherits the inner storage's layout and
 * list_times_accurate; its type is "faulty". Counters: ls_faulty_calls()
 * (calls seen per op), ls_faulty_injected() (failures injected so far).
 *
 * Thread-safe (one mutex). The wrapper owns the inner storage when
 * own_inner is true.
 */
#ifndef LS_STORAGE_FAULTY_H
#define LS_STORAGE_FAULTY_H

#include <stdbool.h>
#include <stdint.h>

#include "storage/storage.h"

typedef enum ls_fault_op {
    LS_FAULT_PUT = 1u << 0,
    LS_FAULT_GET = 1u << 1,   /* opening a reader */
    LS_FAULT_HEAD = 1u << 2,
    LS_FAULT_LIST = 1u << 3,
    LS_FAULT_DEL = 1u << 4,
    LS_FAULT_ALL = 0x1fu,
} ls_fault_op;

ls_code ls_storage_faulty_wrap(ls_storage *inner, bool own_inner, ls_storage **out, ls_err *err);

void ls_faulty_fail_nth(ls_storage *f, unsigned ops, uint64_t nth, ls_code code);
void ls_faulty_fail_every(ls_storage *f, unsigned ops, ls_code code);
void ls_faulty_fail_reads(ls_storage *f, uint64_t after_bytes, ls_code code, uint64_t nreaders);
void ls_faulty_set_after(ls_storage *f, bool after);
void ls_faulty_set_key_filter(ls_storage *f, const char *substr);
/* Removes every rule (counters are kept). */
void ls_faulty_clear(ls_storage *f);

/* Calls seen for one op (a single LS_FAULT_* bit); LS_FAULT_ALL sums all. */
uint64_t ls_faulty_calls(ls_storage *f, unsigned op);
uint64_t ls_faulty_injected(ls_storage *f);
ls_storage *ls_faulty_inner(ls_storage *f);

#endif
