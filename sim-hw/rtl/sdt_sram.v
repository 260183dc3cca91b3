// sdt_sram: one synchronous SRAM of the sdt accelerator (docs/sdt-accelerator.md).
//
// 2^AW words of W bits (W a multiple of 32), one read port and one write port
// (a simple dual-port array, as FPGA block RAMs and SRAM compilers provide it):
// a read issued in a cycle returns its word at the next clock edge, the value
// before any write of the same cycle (read-first).  The write port enables each
// 32-bit slice separately, so the host's load port can write one slice of a
// wide word without a read-modify-write.  Each slice is its own array, which
// yosys maps to one memory and Verilator simulates as one C array.
module sdt_sram #(
    parameter W  = 32,
    parameter AW = 10
) (
    input  wire            clk,
    input  wire            re,
    input  wire [AW-1:0]   raddr,
    output wire [W-1:0]    rdata,
    input  wire            we,
    input  wire [AW-1:0]   waddr,
    input  wire [W-1:0]    wdata,
    input  wire [W/32-1:0] wen
);
    localparam S = W / 32;
    genvar s;
    generate
        for (s = 0; s < S; s = s + 1) begin : slice
            reg [31:0] mem [0:(1 << AW) - 1];
            reg [31:0] q;
            always @(posedge clk) begin
                if (we && wen[s])
                    mem[waddr] <= wdata[32 * s +: 32];
                if (re)
                    q <= mem[raddr];
            end
            assign rdata[32 * s +: 32] = q;
        end
    endgenerate
endmodule
