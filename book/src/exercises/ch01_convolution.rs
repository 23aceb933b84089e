//! Exercises of chapter ch01_convolution (being written).
