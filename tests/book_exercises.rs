//! The book's exercises: each chapter's exercise and solution live in one compiled file under
//! `book/src/exercises/` (the book shows parts of it with `{{#include}}`); its tests run here.

#[path = "../book/src/exercises/ch01_convolution.rs"]
mod ch01_convolution;
#[path = "../book/src/exercises/ch02_channels.rs"]
mod ch02_channels;
#[path = "../book/src/exercises/ch03_conv_layer.rs"]
mod ch03_conv_layer;
#[path = "../book/src/exercises/ch04_fc_layer.rs"]
mod ch04_fc_layer;
#[path = "../book/src/exercises/ch05_pooling.rs"]
mod ch05_pooling;
#[path = "../book/src/exercises/ch06_lenet_mnist.rs"]
mod ch06_lenet_mnist;
#[path = "../book/src/exercises/ch07_what_lenet_learned.rs"]
mod ch07_what_lenet_learned;
#[path = "../book/src/exercises/ch08_making_lenet_fast.rs"]
mod ch08_making_lenet_fast;
