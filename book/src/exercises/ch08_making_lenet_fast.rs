//! Exercises of chapter 8 (being written).
