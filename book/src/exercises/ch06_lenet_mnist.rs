//! Exercises of chapter ch06_lenet_mnist (being written).
