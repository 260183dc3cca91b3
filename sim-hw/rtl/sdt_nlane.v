// sdt_nlane: one lane of the neuron unit, combinational (docs/numerics.md,
// "The layer view", bit for bit).
//
// Takes one element's accumulator, its channel's {m, b}, the layer's shift,
// an optional residual, and the neuron state; gives the value to store
// (q16 in mode 0, the spike in modes 1 and 2) and the new state.
//   x   = sat32(rshr(acc * m, sh) + b)          rshr rounds half up, in 64 bits
//   x   = sat32(x + res)                         when the residual is on
//   LIF:   H = sat32(V + floor((x - V) / 2^k)); S = H >= theta; V = S ? 0 : H
//   I-LIF: H = sat32(floor((V - S * 2^16) / 2^k) + x);
//          S = min(max(round_half_even(H / 2^16), 0), D); V = H
// m must satisfy |m| < 2^24 (the compiler's bound): only its low 25 bits
// reach the multiplier, a 32 x 25-bit one.  A lane past the tensor's
// channels (valid = 0) gives 0 everywhere, so padding lanes stay 0.
module sdt_nlane (
    input  wire        valid,
    input  wire [1:0]  mode,      // 0 store q16, 1 LIF, 2 I-LIF
    input  wire [5:0]  sh,
    input  wire [3:0]  k,
    input  wire [3:0]  dmax,
    input  wire [31:0] theta,
    input  wire        res_en,
    input  wire [31:0] acc,
    input  wire [24:0] m,         // the multiplier's low 25 bits
    input  wire [31:0] b,
    input  wire [31:0] res,
    input  wire [31:0] v,
    input  wire [31:0] s,
    output wire [31:0] out,
    output wire [31:0] vn,
    output wire [31:0] sn
);
    // Saturation of a 64-bit value to int32.
    function [31:0] sat32;
        input [63:0] x;
        begin
            if (!x[63] && x[62:31] != 32'd0)
                sat32 = 32'h7fffffff;
            else if (x[63] && x[62:31] != 32'hffffffff)
                sat32 = 32'h80000000;
            else
                sat32 = x[31:0];
        end
    endfunction

    // Requantization: 57-bit product, rounding shift, bias, saturation.
    wire signed [56:0] prod = $signed(acc) * $signed(m);
    wire signed [63:0] prod64 = {{7{prod[56]}}, prod};
    wire [63:0] rnd = (sh == 6'd0) ? 64'd0 : (64'd1 << (sh - 6'd1));
    wire signed [63:0] shifted = (prod64 + $signed(rnd)) >>> sh;
    wire [63:0] biased = shifted + {{32{b[31]}}, b};
    wire [31:0] x1 = sat32(biased);
    wire [63:0] with_res = {{32{x1[31]}}, x1} + {{32{res[31]}}, res};
    wire [31:0] x = res_en ? sat32(with_res) : x1;

    // LIF.
    wire signed [63:0] lif_diff = $signed({{32{x[31]}}, x}) - $signed({{32{v[31]}}, v});
    wire signed [63:0] lif_step = lif_diff >>> k;
    wire [31:0] lif_h = sat32($unsigned(lif_step) + {{32{v[31]}}, v});
    wire lif_s = $signed(lif_h) >= $signed(theta);

    // I-LIF.
    wire signed [63:0] ilif_t = $signed({{32{v[31]}}, v}) - $signed({{16{s[31]}}, s, 16'd0});
    wire signed [63:0] ilif_q = ilif_t >>> k;
    wire [31:0] ilif_h = sat32($unsigned(ilif_q) + {{32{x[31]}}, x});
    wire [15:0] ilif_fl = ilif_h[31:16];
    wire ilif_up = (ilif_h[15:0] > 16'h8000) || (ilif_h[15:0] == 16'h8000 && ilif_fl[0]);
    wire [16:0] ilif_r = {ilif_fl[15], ilif_fl} + {16'd0, ilif_up};
    wire [3:0] ilif_s = ilif_r[16] ? 4'd0
                      : (ilif_r > {13'd0, dmax}) ? dmax : ilif_r[3:0];

    assign out = !valid ? 32'd0
               : (mode == 2'd0) ? x
               : (mode == 2'd1) ? {31'd0, lif_s}
               : {28'd0, ilif_s};
    assign vn = !valid ? 32'd0
              : (mode == 2'd0) ? v
              : (mode == 2'd1) ? (lif_s ? 32'd0 : lif_h)
              : ilif_h;
    assign sn = !valid ? 32'd0 : (mode == 2'd2) ? {28'd0, ilif_s} : s;
endmodule
