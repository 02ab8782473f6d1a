//! `outpost-server`: the platform side of Outpost (work in progress).

pub mod storage;
