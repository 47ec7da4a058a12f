//! recur
fn main() {}
