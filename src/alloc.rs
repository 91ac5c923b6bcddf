//! The Rust allocator of the extension (PostgreSQL's own memory, palloc, is not concerned).
//! mimalloc for everything up to 32 MiB: the binlog thread builds and frees millions of small
//! values per second (row images, plans) on another thread than the one that frees them, where
//! glibc malloc spent a third of the worker's time in its own locks. The system allocator
//! (glibc) above: it maps such blocks on their own (32 MiB is its highest mmap threshold), so
//! they go back to the system when freed, and grows them with mremap, without a copy — a
//! binlog event of 256 MB is read into a buffer that grows by doubling, which mimalloc would
//! copy at each step (old and new both resident) and keep a while after it is freed.

use std::alloc::{GlobalAlloc, Layout, System};

use mimalloc::MiMalloc;

/// From this size on, blocks are the system allocator's.
const HUGE: usize = 32 << 20;

/// mimalloc's `mi_option_purge_delay` (the 16th of its options; libmimalloc-sys has no name
/// for it).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Memory mimalloc frees goes back to the system after 100 ms unused, not at once: at once (0)
/// the binlog thread spent a quarter of its time faulting the same pages in again (bench/replica,
/// PERF=1: it makes a batch's images, the main thread applies them, it makes the next). Longer
/// keeps more: at 1 s (mimalloc's default) a 10,000,000-row transaction peaked at 255 MB
/// instead of 248 (bench/memory) for no faster replay; never (-1) would keep a big
/// transaction's peak for good. Blocks of 32 MiB and more are not mimalloc's (`HUGE`): they go
/// back when freed.
pub fn init() {
    // SAFETY: sets one of mimalloc's options, read at its next purge
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, PURGE_DELAY_MS) };
}

const PURGE_DELAY_MS: std::ffi::c_long = 100;

pub struct Allocator;

// SAFETY: every block is freed and resized by the allocator that made it, which its layout's
// size tells (the size a block was made or last resized with, as GlobalAlloc guarantees)
unsafe impl GlobalAlloc for Allocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.size() >= HUGE {
            System.alloc(layout)
        } else {
            MiMalloc.alloc(layout)
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.size() >= HUGE {
            System.alloc_zeroed(layout)
        } else {
            MiMalloc.alloc_zeroed(layout)
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if layout.size() >= HUGE {
            System.dealloc(ptr, layout)
        } else {
            MiMalloc.dealloc(ptr, layout)
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        match (layout.size() >= HUGE, new_size >= HUGE) {
            (false, false) => MiMalloc.realloc(ptr, layout, new_size),
            (true, true) => System.realloc(ptr, layout, new_size),
            // across the line: a new block from the other allocator
            _ => {
                let new_layout = Layout::from_size_align_unchecked(new_size, layout.align());
                let new = self.alloc(new_layout);
                if !new.is_null() {
                    std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                    self.dealloc(ptr, layout);
                }
                new
            }
        }
    }
}

#[cfg(test)]
mod tests {
    /// A buffer grown across the line and back keeps its bytes (each resize by the allocator
    /// that made the block).
    #[test]
    fn blocks_cross_between_the_allocators_intact() {
        let mut v: Vec<u8> = Vec::with_capacity(16);
        for i in 0..(super::HUGE + 4096) {
            v.push((i % 251) as u8);
        }
        assert!(v.capacity() >= super::HUGE);
        v.truncate(1000);
        v.shrink_to_fit();
        assert!(v.iter().enumerate().all(|(i, b)| *b == (i % 251) as u8));
        let big = vec![7u8; 2 * super::HUGE];
        assert!(big.iter().all(|b| *b == 7));
    }
}
