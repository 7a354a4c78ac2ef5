"""The one table that answers "would safe Rust have prevented this bug class?".

One row per bug class: a verdict and one sentence of reasoning a kernel developer can check.
docs/classification.md shows the same table (a test keeps the two in step).
"""

from __future__ import annotations

from typing import NamedTuple

from kpanic.classify.model import BUG_CLASSES, Verdict


class RustVerdict(NamedTuple):
    verdict: Verdict
    reason: str


RUST_VERDICTS: dict[str, RustVerdict] = {
    "out-of-bounds": RustVerdict(
        "partly",
        "Safe slice and array indexing is bounds-checked, so the overrun becomes a clean panic "
        "instead of silent memory corruption: still a crash, and raw-pointer or C-owned buffers "
        "are not covered.",
    ),
    "use-after-free": RustVerdict(
        "yes",
        "Ownership and borrow-checked lifetimes reject any use of an object after it has been "
        "dropped, in safe code.",
    ),
    "invalid-free": RustVerdict(
        "yes",
        "The compiler drops an owned value exactly once, so a double or mismatched free cannot "
        "be written in safe code.",
    ),
    "leak": RustVerdict(
        "partly",
        "Drop releases resources on every exit path, error paths included, but leaking is safe "
        "in Rust (mem::forget, reference cycles), so not every leak is ruled out.",
    ),
    "uninit": RustVerdict(
        "yes",
        "Definite-initialisation checking refuses to compile a read of memory that was not "
        "written first, so uninitialised values cannot reach a branch or user space.",
    ),
    "null-deref": RustVerdict(
        "yes",
        "Safe references are never null: a pointer that may be absent is an Option the code "
        "must check before it can use it.",
    ),
    "lock-misuse": RustVerdict(
        "partly",
        "Guard types (Guard, MutexGuard) unlock at scope end and make unbalanced or forgotten "
        "unlocks impossible, but sleeping in atomic context and RCU rules are not enforced by "
        "the type system.",
    ),
    "deadlock": RustVerdict(
        "no",
        "The type system does not see lock ordering: ABBA and IRQ-unsafe lock inversions "
        "compile fine in safe Rust.",
    ),
    "refcount": RustVerdict(
        "partly",
        "Arc and ARef pair every get with a put through Clone and Drop, ruling out underflow "
        "and use-after-put, but a leaked reference (a cycle, mem::forget) still compiles.",
    ),
    "data-race": RustVerdict(
        "partly",
        "Send and Sync reject unsynchronised sharing between threads in safe Rust, but not in "
        "the C code it calls or shares data with.",
    ),
    "assertion": RustVerdict(
        "no",
        "A failed consistency check is a logic error, and safe Rust compiles wrong logic as "
        "readily as C.",
    ),
    "hang": RustVerdict(
        "no",
        "Endless loops, lost wake-ups and starvation are not memory-safety properties; Rust "
        "does not prevent them.",
    ),
    "arithmetic": RustVerdict(
        "partly",
        "Division by zero always panics and overflow panics with CONFIG_RUST_OVERFLOW_CHECKS, "
        "which turns silent wrap-around into a clean crash without removing the bug.",
    ),
    "rust-panic": RustVerdict(
        "no",
        "The code is Rust already: the panic is a run-time check catching a bug that the "
        "compiler did not rule out.",
    ),
    "unknown": RustVerdict(
        "no",
        "kpanic cannot tell what kind of bug this is, so it claims nothing for Rust.",
    ),
}

assert tuple(RUST_VERDICTS) == BUG_CLASSES, "one verdict per bug class, in vocabulary order"

#: Added to the reason when the faulting code is Rust already (the bug is in unsafe code or C).
ALREADY_RUST_NOTE = (
    " The faulting code is Rust already, so the bug sits in unsafe code or in the C it calls."
)


def verdict_for(bug_class: str) -> RustVerdict:
    """The table row for a class (unknown classes fall back to the 'unknown' row)."""
    return RUST_VERDICTS.get(bug_class, RUST_VERDICTS["unknown"])
