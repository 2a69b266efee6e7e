//! A dts-sync task: its configuration file, and the pipeline that runs it — precheck, schema
//! sync, full sync, then incremental sync from the binlog — resumable from its state in the
//! destination's metadata database after any stop or crash.
pub mod config;
pub mod continuous;
pub mod filter;
pub mod heartbeat;
pub mod input;
pub mod run;
pub mod state;
pub mod status;
pub mod verify;
