//! [`Var`]: a handle to one output of one node of a [`crate::Tape`].

/// A handle to one output of one recorded node (cheap to copy). It remembers the tape that
/// made it: handing it to another tape is an error, never a wrong value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Var {
    /// The id of the tape that made it.
    pub(crate) tape: u32,
    /// The node, in recording order.
    pub(crate) node: u32,
    /// The node's output.
    pub(crate) out: u32,
}
