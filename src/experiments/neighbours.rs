//! Neighbouring pixels measured on MNIST: correlation against distance (chapter "The FC layer").
