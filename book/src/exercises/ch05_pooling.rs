//! Exercises of chapter ch05_pooling (being written).
