// Constants of at least --constant-data-threshold bytes bypass LLVM; their
// bytes go, through a data file and .incbin, to the large read-only data
// section (.lrodata), where the code reaches them with 64-bit offsets from
// the GOT; smaller ones stay LLVM constants in .rodata.
// RUN: ssmc %s -o %t.so --constant-data-threshold=32
// RUN: llvm-readelf -sW %t.so | FileCheck %s --check-prefix=SYMS
// RUN: llvm-objdump -s -j .lrodata %t.so | FileCheck %s --check-prefix=DATA
// RUN: llvm-objdump -d %t.so | FileCheck %s --check-prefix=CODE
// The same into a relocatable object (cc -r), and with the threshold off.
// RUN: ssmc %s -o %t.o --constant-data-threshold=32
// RUN: llvm-readelf -SW %t.o | FileCheck %s --check-prefix=OBJ
// RUN: ssmc %s -o %t.off.so --constant-data-threshold=0
// RUN: llvm-readelf -SW %t.off.so | FileCheck %s --check-prefix=OFF
// RUN: ssmc %s --emit=llvm -O0 | FileCheck %s --check-prefix=LLVM

// The 32-byte constant, 64-byte aligned.
// SYMS: {{^ *[0-9]+: [0-9a-f]*[048c]0 +32 OBJECT .* [0-9]+ __constant_8xf32$}}
// 1.0 .. 8.0 as little-endian f32: 3f800000, 40000000, ...
// DATA: Contents of section .lrodata:
// DATA: 0000803f 00000040
// DATA-NEXT: 00004040 00008040 0000a040 0000c040
// DATA-NEXT: 0000e040 00000041
// 9.0 (0x41100000) stays out of it.
// DATA-NOT: 00001041
// CODE: movabsq $0x{{[0-9a-f]+}}, %{{r[a-z0-9]+}}
// OBJ: .lrodata.ssm_constants PROGBITS {{.*}} Al {{.*}} 64
// OFF-NOT: .lrodata
// LLVM: @__constant_8xf32 = private constant [8 x float] [float 1.000000e+00

func.func @weights(%x: tensor<8xf32>, %y: tensor<2xf32>)
    -> (tensor<8xf32>, tensor<2xf32>) {
  %w = arith.constant dense<[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]>
      : tensor<8xf32>
  %v = arith.constant dense<[9.0, 10.0]> : tensor<2xf32>
  %a = arith.mulf %x, %w : tensor<8xf32>
  %b = arith.mulf %y, %v : tensor<2xf32>
  return %a, %b : tensor<8xf32>, tensor<2xf32>
}
