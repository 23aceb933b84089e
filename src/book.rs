//! The book's chapters as doctests: every ```rust block of `book/src/*.md` is compiled and run by
//! `cargo test --doc` (and `cargo test`) against this crate. mdBook's own `mdbook test` cannot link
//! external crates, so rustdoc does the checking instead. The Korean edition's chapters
//! (`book/ko/*.md`, written from `po/ko.po` by `scripts/book --update-po`) are run the same way in
//! [`ko`]: their code differs from the English only in its comments, and their output blocks are
//! compared with what the listings print just as the English ones are.

#[doc = include_str!("../book/src/intro.md")]
pub mod intro {}
#[doc = include_str!("../book/src/ch01-convolution.md")]
pub mod ch01_convolution {}
#[doc = include_str!("../book/src/ch02-channels.md")]
pub mod ch02_channels {}
#[doc = include_str!("../book/src/ch03-conv-layer.md")]
pub mod ch03_conv_layer {}
#[doc = include_str!("../book/src/ch04-fc-layer.md")]
pub mod ch04_fc_layer {}
#[doc = include_str!("../book/src/ch05-pooling.md")]
pub mod ch05_pooling {}
#[doc = include_str!("../book/src/ch06-lenet-mnist.md")]
pub mod ch06_lenet_mnist {}
#[doc = include_str!("../book/src/ch07-what-lenet-learned.md")]
pub mod ch07_what_lenet_learned {}
#[doc = include_str!("../book/src/ch08-making-lenet-fast.md")]
pub mod ch08_making_lenet_fast {}
#[doc = include_str!("../book/src/appendix-cheatsheet.md")]
pub mod appendix_cheatsheet {}
#[doc = include_str!("../book/src/appendix-glossary.md")]
pub mod appendix_glossary {}
#[doc = include_str!("../book/src/appendix-under-the-hood.md")]
pub mod appendix_under_the_hood {}
#[doc = include_str!("../book/src/bench-results.md")]
pub mod bench_results {}

/// 한국어판: the same chapters, translated.
pub mod ko {
    #[doc = include_str!("../book/ko/intro.md")]
    pub mod intro {}
    #[doc = include_str!("../book/ko/ch01-convolution.md")]
    pub mod ch01_convolution {}
    #[doc = include_str!("../book/ko/ch02-channels.md")]
    pub mod ch02_channels {}
    #[doc = include_str!("../book/ko/ch03-conv-layer.md")]
    pub mod ch03_conv_layer {}
    #[doc = include_str!("../book/ko/ch04-fc-layer.md")]
    pub mod ch04_fc_layer {}
    #[doc = include_str!("../book/ko/ch05-pooling.md")]
    pub mod ch05_pooling {}
    #[doc = include_str!("../book/ko/ch06-lenet-mnist.md")]
    pub mod ch06_lenet_mnist {}
    #[doc = include_str!("../book/ko/ch07-what-lenet-learned.md")]
    pub mod ch07_what_lenet_learned {}
    #[doc = include_str!("../book/ko/ch08-making-lenet-fast.md")]
    pub mod ch08_making_lenet_fast {}
    #[doc = include_str!("../book/ko/appendix-cheatsheet.md")]
    pub mod appendix_cheatsheet {}
    #[doc = include_str!("../book/ko/appendix-glossary.md")]
    pub mod appendix_glossary {}
    #[doc = include_str!("../book/ko/appendix-under-the-hood.md")]
    pub mod appendix_under_the_hood {}
    #[doc = include_str!("../book/ko/bench-results.md")]
    pub mod bench_results {}
}
