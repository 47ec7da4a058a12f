//! The elementwise ops as types: each op is one line of [`unary_ops!`] or [`binary_ops!`]
//! carrying its name, its scalar formula for f32 and f64 (through [`Real`]) and, for the
//! unary ones, its derivative from the output. The CPU kernels map these formulas, the CUDA
//! backend launches the kernels named after the op (`<name>_f32`, `<name>_backward_f64`, one
//! `UNARY(name, forward, backward)` line each in `crates/cuda/kernels/recur.cu`, checked by a
//! test), the autograd node calls the derivative, and the tests walk [`UnaryOp::ALL`].
//!
//! Adding an activation: one line in `unary_ops!` below, one `UNARY(...)` line in
//! `recur.cu`, one gradient-check line in `crates/autograd/tests/gradcheck.rs`.

/// A floating-point element: f32 or f64, with the fast forms the kernels use.
pub trait Real: num_traits::Float + Send + Sync + 'static {
    /// `e^x` (f32: the branch-free polynomial that vectorizes, within 3 ulp; f64: libm).
    fn fast_exp(self) -> Self;
    /// `tanh(x)` (f32: branch-free polynomial form, within 2 ulp; f64: libm).
    fn fast_tanh(self) -> Self;
}

impl Real for f32 {
    #[inline(always)]
    fn fast_exp(self) -> f32 {
        crate::fastmath::exp_f32(self)
    }
    #[inline(always)]
    fn fast_tanh(self) -> f32 {
        crate::fastmath::tanh_f32(self)
    }
}

impl Real for f64 {
    #[inline(always)]
    fn fast_exp(self) -> f64 {
        self.exp()
    }
    #[inline(always)]
    fn fast_tanh(self) -> f64 {
        self.tanh()
    }
}

/// Declares [`UnaryOp`]: `Variant = "name", |x| forward, |y, g| backward;` per op, where
/// `backward` is the input gradient from the output `y` and the output gradient `g`.
macro_rules! unary_ops {
    ($( $(#[$doc:meta])* $variant:ident = $name:literal,
        |$x:ident| $fwd:expr, |$y:ident, $g:ident| $bwd:expr; )*) => {
        /// Elementwise functions of one argument that have a backward form.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum UnaryOp {
            $( $(#[$doc])* $variant, )*
        }

        impl UnaryOp {
            /// Every op, in declaration order.
            pub const ALL: &'static [UnaryOp] = &[$(UnaryOp::$variant),*];

            /// The op's name: in errors, and the CUDA kernels `<name>_f32` / `<name>_f64`.
            pub fn name(self) -> &'static str {
                match self { $(UnaryOp::$variant => $name,)* }
            }

            /// The CUDA kernel of the backward form: `<name>_backward` (+ `_f32` / `_f64`).
            pub fn backward_name(self) -> &'static str {
                match self { $(UnaryOp::$variant => concat!($name, "_backward"),)* }
            }

            /// `op(x)`.
            #[inline(always)]
            pub fn forward<T: Real>(self, x: T) -> T {
                match self { $(UnaryOp::$variant => { let $x = x; $fwd })* }
            }

            /// The input gradient from the output `y = op(x)` and the output gradient `g`.
            #[inline(always)]
            pub fn backward<T: Real>(self, y: T, g: T) -> T {
                match self { $(UnaryOp::$variant => { let ($y, $g) = (y, g); $bwd })* }
            }
        }
    };
}

/// Declares [`BinaryOp`]: `Variant = "name", |a, b| formula;` per op.
macro_rules! binary_ops {
    ($( $(#[$doc:meta])* $variant:ident = $name:literal, |$a:ident, $b:ident| $f:expr; )*) => {
        /// Elementwise functions of two same-shaped arguments.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum BinaryOp {
            $( $(#[$doc])* $variant, )*
        }

        impl BinaryOp {
            /// Every op, in declaration order.
            pub const ALL: &'static [BinaryOp] = &[$(BinaryOp::$variant),*];

            /// The op's name: in errors, and the CUDA kernels `<name>_f32` / `<name>_f64`.
            pub fn name(self) -> &'static str {
                match self { $(BinaryOp::$variant => $name,)* }
            }

            /// `a op b`.
            #[inline(always)]
            pub fn apply<T: Real>(self, a: T, b: T) -> T {
                match self { $(BinaryOp::$variant => { let ($a, $b) = (a, b); $f })* }
            }
        }
    };
}

unary_ops! {
    /// `1 / (1 + e^{-x})`; backward `g · y · (1 − y)`.
    Sigmoid = "sigmoid",
        |x| T::one() / (T::one() + (-x).fast_exp()),
        |y, g| g * y * (T::one() - y);
    /// `tanh(x)`; backward `g · (1 − y²)`.
    Tanh = "tanh",
        |x| x.fast_tanh(),
        |y, g| g * (T::one() - y * y);
    /// `max(x, 0)`; backward `g · [y > 0]`.
    Relu = "relu",
        |x| if x > T::zero() { x } else { T::zero() },
        |y, g| if y > T::zero() { g } else { T::zero() };
    /// `x / (1 + |x|)`; backward `g · (1 − |y|)²`.
    Softsign = "softsign",
        |x| x / (T::one() + x.abs()),
        |y, g| g * (T::one() - y.abs()) * (T::one() - y.abs());
    /// `e^x`; backward `g · y`.
    Exp = "exp",
        |x| x.fast_exp(),
        |y, g| g * y;
    /// `ln x`; backward `g / x = g · e^{−y}`.
    Log = "log",
        |x| x.ln(),
        |y, g| g * (-y).fast_exp();
}

binary_ops! {
    /// `a + b`.
    Add = "add", |a, b| a + b;
    /// `a − b`.
    Sub = "sub", |a, b| a - b;
    /// `a · b`.
    Mul = "mul", |a, b| a * b;
    /// `a / b`.
    Div = "div", |a, b| a / b;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_formulas_are_the_textbook_ones() {
        for x in [-3.0f64, -0.5, 0.0, 0.7, 4.0] {
            let s = UnaryOp::Sigmoid.forward(x);
            assert!((s - 1.0 / (1.0 + (-x).exp())).abs() < 1e-15);
            assert!((UnaryOp::Sigmoid.backward(s, 2.0) - 2.0 * s * (1.0 - s)).abs() < 1e-15);
            assert_eq!(UnaryOp::Tanh.forward(x), x.tanh());
            assert_eq!(UnaryOp::Relu.forward(x), x.max(0.0));
            assert!((UnaryOp::Tanh.forward(x as f32) - (x as f32).tanh()).abs() < 1e-6);
        }
        assert_eq!(UnaryOp::Relu.backward(0.0, 1.0), 0.0);
        assert_eq!(UnaryOp::Tanh.backward_name(), "tanh_backward");
        assert_eq!(BinaryOp::Sub.apply(5.0, 3.0), 2.0);
        assert_eq!(UnaryOp::ALL.len(), 6);
    }
}
