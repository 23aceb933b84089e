//! Exercises of chapter ch07_what_lenet_learned (being written).
