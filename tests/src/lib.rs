//! End-to-end tests of dts-sync against real MariaDB servers (in `tests/`).
//!
//! Nothing here is mocked: every test runs against throwaway servers from `dts-testkit`, which
//! also holds every helper the tests share (binlog positions, row digests, replica server_ids,
//! exact sessions). The whole-task cases are data, in `tests/cases/` (run by
//! `bins/dts-sync/tests/cases.rs`). This crate is never a dependency of the product.
