//! Learning a kernel: recover a known edge kernel from image/output pairs with autograd and SGD.
