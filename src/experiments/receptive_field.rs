//! The receptive field: which input pixels one unit of a layer sees (chapter "The conv layer").
