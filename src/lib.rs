//! vcscope
