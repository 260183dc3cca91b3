// sdt_core: the sequencer and the op engines of the sdt accelerator
// (docs/sdt-accelerator.md is the contract; docs/numerics.md, "The layer
// view", the arithmetic).
//
// Takes a START pulse and the memories' ports (owned by the core while
// BUSY); gives BUSY/DONE/ERROR, the error code and PC, the list registers'
// updates, the output FIFO's pushes and one increment a cycle for every
// counter that is not a memory access (sdt_top counts those at the ports).
//
// Per descriptor: FETCH reads its 16 words from PMEM (17 cycles), CHECK
// validates the whole descriptor against the memories and lists in one
// cycle (error codes 1..4), then one engine runs:
//   CONV, SUMPOOL  the event walker: one cycle decodes an event (and
//                  prefetches the next), then one read-modify-write of an
//                  L-wide DMEM word a cycle for every (set bit of the value,
//                  valid tap, output group); the RMW is a two-stage pipeline
//                  (issue: DMEM and WMEM reads; then add and write) whose DMEM
//                  reads are forwarded from the write of the same cycle, so
//                  consecutive updates of one word never stall.
//   KV, QKV        the same walker; per event and word of a KV row: read
//                  the addend word, read the target, write their sum.
//   NEURON         per output word: read acc, residual, V, S; L lanes of
//                  sdt_nlane; write out, V, S, acc := 0; append the events.
//   SDSA1          per group: n = sum of K AND V, the attention LIF (the
//                  same sdt_nlane lanes), A into the scratch; then per word
//                  out = Q AND A and its events; then the scratch is zeroed.
//   ADD, MAXPOOL   dense word-by-word scans; CLEAR one zero word a cycle.
// Invariants: every address an engine forms lies inside a region CHECK
// accepted (or an event field is refused with code 6 before it is used), so
// the machine never writes outside a region; every engine's loop is bounded
// by descriptor fields, so the machine never hangs (it only waits while the
// output FIFO is full).  Lanes past a tensor's channels are never written
// with anything but 0.
module sdt_core #(
    parameter LANES     = 16,
    parameter PMEM_LOG2 = 14,
    parameter WMEM_LOG2 = 16,
    parameter QMEM_LOG2 = 12,
    parameter DMEM_LOG2 = 16,
    parameter EVT_LOG2  = 18
) (
    input  wire                   clk,
    input  wire                   rst,
    input  wire                   start,
    output reg                    busy,
    output reg                    done,
    output reg                    error,
    output reg  [7:0]             err_code,
    output reg  [15:0]            pc,
    // PMEM: read only
    output reg                    pm_re,
    output reg  [PMEM_LOG2-1:0]   pm_raddr,
    input  wire [31:0]            pm_rdata,
    // WMEM, QMEM: read only
    output reg                    wm_re,
    output reg  [WMEM_LOG2-1:0]   wm_raddr,
    input  wire [LANES*8-1:0]     wm_rdata,
    output reg                    qm_re,
    output reg  [QMEM_LOG2-1:0]   qm_raddr,
    input  wire [LANES*64-1:0]    qm_rdata,
    // DMEM: one read, one write a cycle
    output reg                    dm_re,
    output reg  [DMEM_LOG2-1:0]   dm_raddr,
    input  wire [LANES*32-1:0]    dm_rdata,
    output reg                    dm_we,
    output reg  [DMEM_LOG2-1:0]   dm_waddr,
    output reg  [LANES*32-1:0]    dm_wdata,
    // EVT: one read, one write a cycle
    output reg                    ev_re,
    output reg  [EVT_LOG2-1:0]    ev_raddr,
    input  wire [31:0]            ev_rdata,
    output reg                    ev_we,
    output reg  [EVT_LOG2-1:0]    ev_waddr,
    output reg  [31:0]            ev_wdata,
    // list registers: the descriptor's input and output lists
    output wire [3:0]             lin_sel,
    output wire [3:0]             lout_sel,
    input  wire [31:0]            lin_base,
    input  wire [31:0]            lin_cap,
    input  wire [31:0]            lin_count,
    input  wire [31:0]            lout_base,
    input  wire [31:0]            lout_cap,
    input  wire [31:0]            lout_count,
    output wire                   lout_inc,
    output reg                    lout_clr,
    // output FIFO (the events appended to list 15)
    output wire                   fifo_push,
    input  wire                   fifo_full,
    // counter increments of this cycle
    output reg  [7:0]             inc_pe_lanes,
    output reg                    inc_pe_issue,
    output reg  [7:0]             inc_nu_lanes,
    output reg                    inc_events_in,
    output reg  [7:0]             inc_mul
);
    localparam L     = LANES;
    localparam LOG2L = $clog2(LANES);
    localparam PC_W  = PMEM_LOG2 - 4;
    localparam GW    = 11 - LOG2L;     // bits of a group count (<= 1024 / L)
    localparam integer LANES_I = LANES;
    localparam [7:0] L8 = LANES_I[7:0];   // LANES <= 128

    localparam [7:0] OP_CONV = 8'h01, OP_NEURON = 8'h02, OP_ADD = 8'h03,
                     OP_MAXPOOL = 8'h04, OP_SUMPOOL = 8'h05, OP_CLEAR = 8'h09,
                     OP_SDSA1 = 8'h06, OP_KV = 8'h07, OP_QKV = 8'h08, OP_END = 8'h0f;

    localparam [5:0] S_IDLE = 6'd0, S_FETCH = 6'd1, S_CHECK = 6'd2, S_NEXT = 6'd3,
                     S_C_FIRST = 6'd4, S_C_DEC = 6'd5, S_C_ISSUE = 6'd6,
                     S_N_RD = 6'd7, S_N_WAIT = 6'd8, S_N_WR = 6'd9, S_EV = 6'd10,
                     S_A_RA = 6'd11, S_A_RB = 6'd12, S_A_W = 6'd13,
                     S_M_START = 6'd14, S_M_RD = 6'd15, S_M_WAIT = 6'd16, S_M_WR = 6'd17,
                     S_CLR = 6'd18, S_K_RA = 6'd19, S_K_RB = 6'd20, S_K_W = 6'd21,
                     S_K_CLR = 6'd22,
                     S_S_RK = 6'd23, S_S_RV = 6'd24, S_S_AC = 6'd25, S_S_LV = 6'd26,
                     S_S_LW1 = 6'd27, S_S_LW2 = 6'd28, S_S_LW3 = 6'd29, S_S_Q = 6'd30,
                     S_S_A = 6'd31, S_S_O = 6'd32, S_S_CLR = 6'd33;

    localparam [2:0] T_NONE = 3'd0, T_ACC = 3'd1, T_RES = 3'd2, T_V = 3'd3, T_S = 3'd4;

    // ------------------------------------------------------------------
    // Helpers.
    function [7:0] popc;
        input [L-1:0] m;
        integer i;
        begin
            popc = 8'd0;
            for (i = 0; i < L; i = i + 1)
                popc = popc + {7'd0, m[i]};
        end
    endfunction

    function [7:0] lsb_l;
        input [L-1:0] m;
        integer i;
        begin
            lsb_l = 8'd0;
            for (i = L - 1; i >= 0; i = i - 1)
                if (m[i]) lsb_l = i[7:0];
        end
    endfunction

    function [2:0] lsb8;
        input [7:0] m;
        integer i;
        begin
            lsb8 = 3'd0;
            for (i = 7; i >= 0; i = i - 1)
                if (m[i]) lsb8 = i[2:0];
        end
    endfunction

    // base + size <= 2^lg, without overflow.
    function fits;
        input [31:0] base;
        input [31:0] size;
        input integer lg;
        reg [33:0] e;
        begin
            e = {2'b00, base} + {2'b00, size};
            fits = e <= (34'd1 << lg);
        end
    endfunction

    // A lane mask of the channels of group g that exist (of c channels).
    function [L-1:0] gmask;
        input [31:0] c;
        input [31:0] g;
        reg [31:0] rem;
        begin
            rem = c - (g << LOG2L);
            if (rem >= L)
                gmask = {L{1'b1}};
            else
                gmask = ~({L{1'b1}} << rem[7:0]);
        end
    endfunction

    // ------------------------------------------------------------------
    // The descriptor, as fetched (only the fields some op reads).
    reg [5:0]  state;
    reg [4:0]  fcnt;
    reg [7:0]  op;
    reg        flag0;
    reg [15:0] cin, cout;
    reg [7:0]  hin, win, hout, wout;
    reg [3:0]  kk, st, pad;
    reg        dwise, int4, cnts;
    reg [3:0]  lin_r, lout_r;
    reg [31:0] a5, a6, a7, a8, a9, a10, a11, a13, a15;
    reg [5:0]  sh;
    reg [3:0]  lk, dmax;
    reg [1:0]  mode;
    reg        res_en, clr_en;
    reg [7:0]  heads;

    assign lin_sel  = lin_r;
    assign lout_sel = lout_r;

    // Derived sizes, all in 32 bits.
    wire [31:0] cin32   = {16'd0, cin};
    wire [31:0] cout32  = {16'd0, cout};
    wire [31:0] hin32   = {24'd0, hin};
    wire [31:0] win32   = {24'd0, win};
    wire [31:0] hout32  = {24'd0, hout};
    wire [31:0] wout32  = {24'd0, wout};
    wire [31:0] k32     = {28'd0, kk};
    wire [31:0] pad32   = {28'd0, pad};
    wire        s2      = (st == 4'd2);
    wire [31:0] gin     = (cin32 + L - 1) >> LOG2L;
    wire [31:0] gout    = (cout32 + L - 1) >> LOG2L;
    /* verilator lint_off UNUSEDSIGNAL */
    wire [31:0] gout2   = gout + {31'd0, gout[0]};     // cut to GW bits below
    /* verilator lint_on UNUSEDSIGNAL */
    // Products are formed from operands cut to the widths CHECK allows
    // (zero-extended), so synthesis builds multipliers of those widths;
    // where CHECK fails, the values they give are not used.
    wire [31:0] gin_z   = {{(32 - GW){1'b0}}, gin[GW-1:0]};
    wire [31:0] gout_z  = {{(32 - GW){1'b0}}, gout[GW-1:0]};
    wire [31:0] gout2_z = {{(32 - GW){1'b0}}, gout2[GW-1:0]};
    wire [5:0]  taps6   = {3'd0, kk[2:0]} * {3'd0, kk[2:0]};
    wire [31:0] taps    = {26'd0, taps6};
    wire [15:0] npos_out = {8'd0, hout} * {8'd0, wout};
    wire [15:0] npos_in  = {8'd0, hin} * {8'd0, win};
    wire [31:0] nw_out  = {16'd0, npos_out} * gout_z;
    wire [31:0] nw_in   = {16'd0, npos_in} * gin_z;

    // ------------------------------------------------------------------
    // CHECK: the error code of the descriptor (0: runs).
    wire c_ok_range = cin32 >= 1 && cin32 <= 1024 && cout32 >= 1 && cout32 <= 1024;
    wire out_ok     = cout32 >= 1 && cout32 <= 1024 && hout32 >= 1 && hout32 <= 128 &&
                      wout32 >= 1 && wout32 <= 128;
    wire in_ok      = hin32 >= 1 && hin32 <= 128 && win32 >= 1 && win32 <= 128;
    wire k_ok       = kk[0] && kk <= 4'd7 && (st == 4'd1 || st == 4'd2);
    wire [31:0] hspan = hin32 + (pad32 << 1);
    wire [31:0] wspan = win32 + (pad32 << 1);
    wire geom_ok    = k_ok && hspan >= k32 && wspan >= k32 &&
                      ((hspan - k32) >> s2) + 1 == hout32 &&
                      ((wspan - k32) >> s2) + 1 == wout32;
    wire lin_fits   = fits(lin_base, lin_cap, EVT_LOG2);
    wire lout_fits  = fits(lout_base, lout_cap, EVT_LOG2);
    wire lin_cnt_ok = lin_count <= lin_cap;
    wire lout_cnt_ok = lout_count <= lout_cap;
    wire [31:0] cin_taps = {16'd0, {5'd0, cin[10:0]} * {10'd0, taps6}};
    wire [31:0] w_words = dwise ? taps * gin_z
                        : int4  ? cin_taps * (gout2_z >> 1)
                        :         cin_taps * gout_z;
    wire [31:0] nw_state = (mode == 2'd2) ? (nw_out << 1) : nw_out;
    // SDSA v2 (KV, QKV): h heads of d = C / h channels, a KV row of d / L
    // words; the RTL requires d to be a multiple of L (heads start on a
    // word).
    wire [10:0] kv_d    = (heads == 8'd0) ? 11'd0 : cin[10:0] / {3'd0, heads};
    wire [31:0] kv_dw   = {21'd0, kv_d} >> LOG2L;
    wire [31:0] kv_dh   = {21'd0, kv_d} * {24'd0, heads};
    wire        kv_ok   = heads != 8'd0 && kv_d != 11'd0 && kv_dh == cin32 &&
                          kv_d[LOG2L-1:0] == {LOG2L{1'b0}};
    wire [31:0] kv_rows = {21'd0, cin[10:0]} * kv_dw;
    wire [31:0] kv_tok  = {24'd0, hin} * gin_z;

    reg [7:0] chk;
    always @* begin
        chk = 8'd0;
        case (op)
        OP_CONV: begin
            if (!c_ok_range || !in_ok || !out_ok || !geom_ok || pad >= kk ||
                (dwise && (cout != cin || int4)))
                chk = 8'd2;
            else if (!fits(a8, nw_out, DMEM_LOG2) || !fits(a10, w_words, WMEM_LOG2) || !lin_fits)
                chk = 8'd3;
            else if (!lin_cnt_ok)
                chk = 8'd4;
        end
        OP_NEURON: begin
            if (!out_ok || mode == 2'd3 || sh > 6'd62)
                chk = 8'd2;
            else if (!fits(a8, nw_out, DMEM_LOG2) || !fits(a7, nw_out, DMEM_LOG2) ||
                     (res_en && !fits(a6, nw_out, DMEM_LOG2)) ||
                     (mode != 2'd0 && (!fits(a9, nw_state, DMEM_LOG2) || !lout_fits)) ||
                     !fits(a11, gout, QMEM_LOG2))
                chk = 8'd3;
            else if (mode != 2'd0 && !lout_cnt_ok)
                chk = 8'd4;
        end
        OP_ADD: begin
            if (!out_ok)
                chk = 8'd2;
            else if (!fits(a5, nw_out, DMEM_LOG2) || !fits(a6, nw_out, DMEM_LOG2) ||
                     !fits(a7, nw_out, DMEM_LOG2))
                chk = 8'd3;
        end
        OP_MAXPOOL: begin
            if (!out_ok || !in_ok || cin != cout || !geom_ok || (pad << 1) >= kk)
                chk = 8'd2;
            else if (!fits(a5, nw_in, DMEM_LOG2) || !fits(a7, nw_out, DMEM_LOG2) ||
                     (!cnts && !lout_fits))
                chk = 8'd3;
            else if (!cnts && !lout_cnt_ok)
                chk = 8'd4;
        end
        OP_SUMPOOL: begin
            if (cin32 < 1 || cin32 > 1024)
                chk = 8'd2;
            else if (!fits(a8, gin, DMEM_LOG2) || !lin_fits)
                chk = 8'd3;
            else if (!lin_cnt_ok)
                chk = 8'd4;
        end
        OP_SDSA1: begin
            if (!out_ok || cin != cout || hin != hout || win32 != 1 || wout32 != 1)
                chk = 8'd2;
            else if (!fits(a5, nw_out, DMEM_LOG2) || !fits(a6, nw_out, DMEM_LOG2) ||
                     !fits(a7, nw_out, DMEM_LOG2) || !fits(a8, nw_out, DMEM_LOG2) ||
                     !fits(a9, gout, DMEM_LOG2) || !fits(a15, gout, DMEM_LOG2) || !lout_fits)
                chk = 8'd3;
            else if (!lout_cnt_ok)
                chk = 8'd4;
        end
        OP_KV, OP_QKV: begin
            if (cin32 < 1 || cin32 > 1024 || hin32 < 1 || hin32 > 128 || win32 != 1 || !kv_ok)
                chk = 8'd2;
            else if (!fits(op == OP_KV ? a6 : a7, kv_tok, DMEM_LOG2) ||
                     !fits(a8, kv_rows, DMEM_LOG2) || !lin_fits)
                chk = 8'd3;
            else if (!lin_cnt_ok)
                chk = 8'd4;
        end
        OP_CLEAR: begin
            if (!fits(a7, a15, DMEM_LOG2))
                chk = 8'd3;
        end
        OP_END: chk = 8'd0;
        default: chk = 8'd1;
        endcase
    end

    // ------------------------------------------------------------------
    // The event walker (CONV, SUMPOOL).
    reg        sump;               // the op is SUMPOOL
    reg        kvop, qkvop;        // the op is KV, QKV
    reg [31:0] k_hd;               // the event's head, in words (head * d / L)
    reg [31:0] kw;                 // the word of the KV row
    reg [31:0] ev_idx, ev_n;       // next event to decode, the list's count
    reg [31:0] ev_buf;             // the prefetched event
    reg        ev_pend;            // an EVT read was issued last cycle
    reg [9:0]  ec;
    reg [6:0]  ey, ex;
    reg [7:0]  ev_val;
    reg [7:0]  vmask;              // set bits of the value still to pass
    reg [2:0]  vbit;
    reg [3:0]  ky, kx, ky_lo, kx_lo, ky_hi, kx_hi;
    reg [31:0] g;

    wire [31:0] evw   = ev_pend ? ev_rdata : ev_buf;
    wire [7:0]  e_v   = evw[7:0];
    wire [9:0]  e_c   = evw[17:8];
    wire [6:0]  e_x   = evw[24:18];
    wire [6:0]  e_y   = evw[31:25];
    wire        e_bad = ({22'd0, e_c} >= cin32) ||
                        (!sump && ({25'd0, e_y} >= hin32 || {25'd0, e_x} >= win32));
    // Valid taps of one axis: tap t reaches output (i + pad - t) / s when
    // that is an integer in [0, n_out).
    wire [31:0] ty    = {25'd0, e_y} + pad32;
    wire [31:0] tx    = {25'd0, e_x} + pad32;
    wire [31:0] yspan = (hout32 - 1) << s2;
    wire [31:0] xspan = (wout32 - 1) << s2;
    wire [31:0] ky_hi0 = (ty < k32 - 1) ? ty : k32 - 1;
    wire [31:0] kx_hi0 = (tx < k32 - 1) ? tx : k32 - 1;
    wire [31:0] ky_lo1 = (ty > yspan) ? ty - yspan : 32'd0;
    wire [31:0] kx_lo1 = (tx > xspan) ? tx - xspan : 32'd0;
    wire [31:0] ky_lo0 = ky_lo1 + {31'd0, s2 && (ky_lo1[0] != ty[0])};
    wire [31:0] kx_lo0 = kx_lo1 + {31'd0, s2 && (kx_lo1[0] != tx[0])};
    wire [7:0]  e_mask = (cnts && !sump) ? e_v : 8'd1;
    wire        e_work = sump ? (e_v != 8'd0)
                       : (ky_lo0 <= ky_hi0 && kx_lo0 <= kx_hi0 && e_mask != 8'd0);
    wire        ev_more = ev_idx + 1 < ev_n;

    // KV and QKV: the token side (V's or acc's word of token t in head g)
    // and the row side (KV row i); one adds into the other.
    wire [10:0] e_head  = (kv_d == 11'd0) ? 11'd0 : {1'b0, e_c} / kv_d;
    /* verilator lint_off UNUSEDSIGNAL */
    wire [31:0] k_tok   = (qkvop ? a7 : a6) + {24'd0, 1'b0, ey} * gin_z + k_hd + kw;
    wire [31:0] k_row   = a8 + {22'd0, ec} * kv_dw + kw;
    wire [31:0] k_src   = qkvop ? k_row : k_tok;
    wire [31:0] k_dst   = qkvop ? k_tok : k_row;
    wire [31:0] k_clr   = a8 + widx;
    wire [31:0] s_tg    = {16'd0, {8'd0, kw[7:0]} * gout_z[15:0]} + pg;   // token kw, group pg
    wire [31:0] s_k     = a5 + s_tg;
    wire [31:0] s_v     = a6 + s_tg;
    wire [31:0] s_st    = a9 + pg;
    wire [31:0] s_a     = a15 + pg;
    wire [31:0] s_q     = a8 + widx;
    wire [31:0] s_clr   = a15 + widx;
    /* verilator lint_on UNUSEDSIGNAL */

    // The issue stage's addresses.
    wire [31:0] ky32   = {28'd0, ky};
    wire [31:0] kx32   = {28'd0, kx};
    /* verilator lint_off UNUSEDSIGNAL */
    wire [31:0] oy     = ({25'd0, ey} + pad32 - ky32) >> s2;   // < 128 on a valid tap
    wire [31:0] ox     = ({25'd0, ex} + pad32 - kx32) >> s2;
    /* verilator lint_on UNUSEDSIGNAL */
    wire [31:0] opos   = {16'd0, {8'd0, oy[7:0]} * {8'd0, wout} + {8'd0, ox[7:0]}};
    wire [31:0] cgrp   = {22'd0, ec} >> LOG2L;
    wire [5:0]  tap6   = {3'd0, ky[2:0]} * {3'd0, kk[2:0]} + {3'd0, kx[2:0]};
    wire [31:0] tap    = {26'd0, tap6};
    wire [31:0] crow   = {16'd0, {6'd0, ec} * {10'd0, taps6} + {10'd0, tap6}};
    /* verilator lint_off UNUSEDSIGNAL */
    // Addresses and tap indices are formed in 32 bits; CHECK (and the
    // tap ranges) guarantee the bits above their registers' widths are 0.
    wire [31:0] i_acc  = sump  ? a8 + cgrp
                       : dwise ? a8 + opos * gin_z + cgrp
                       :         a8 + opos * gout_z + g;
    wire [31:0] i_w    = dwise ? a10 + tap * gin_z + cgrp
                       : int4  ? a10 + ((crow * gout2_z + g) >> 1)
                       :         a10 + crow * gout_z + g;
    /* verilator lint_on UNUSEDSIGNAL */
    wire [L-1:0] onehot = {{(L-1){1'b0}}, 1'b1} << ec[LOG2L-1:0];
    wire [L-1:0] i_mask = (sump || dwise) ? onehot : gmask(cout32, g);
    wire        last_g  = sump || dwise || g == gout - 1;
    wire        last_kx = {28'd0, kx_hi - kx} < {31'd0, s2} + 1;
    wire        last_ky = {28'd0, ky_hi - ky} < {31'd0, s2} + 1;
    wire [7:0]  rest    = vmask & ~(8'd1 << vbit);
    wire [3:0]  kstep   = s2 ? 4'd2 : 4'd1;

    // The RMW stage.
    reg                  p1_valid;
    reg [DMEM_LOG2-1:0]  p1_addr;
    reg [L-1:0]          p1_mask;
    reg [2:0]            p1_shift;
    reg                  p1_nib, p1_int4, p1_sump;
    reg [7:0]            p1_val;

    // DMEM reads see the write of the same cycle (write-first for the core).
    reg                  fwd_hit;
    reg [L*32-1:0]       fwd_data;
    wire [L*32-1:0]      dm_rd = fwd_hit ? fwd_data : dm_rdata;

    wire [L*32-1:0] p1_new;
    genvar l;
    generate
        for (l = 0; l < L; l = l + 1) begin : pe
            wire [7:0]  wb  = wm_rdata[8 * l +: 8];
            wire [3:0]  wn  = p1_nib ? wb[7:4] : wb[3:0];
            wire [31:0] w32 = p1_int4 ? {{28{wn[3]}}, wn} : {{24{wb[7]}}, wb};
            wire [31:0] add = p1_sump ? {24'd0, p1_val} : (w32 << p1_shift);
            assign p1_new[32 * l +: 32] = dm_rd[32 * l +: 32] + (p1_mask[l] ? add : 32'd0);
        end
    endgenerate

    // ------------------------------------------------------------------
    // Dense scans (NEURON, ADD, MAXPOOL): the output word, its position.
    reg [31:0] widx;
    reg [7:0]  py, px;
    reg [31:0] pg;
    reg [1:0]  nsub;
    reg [2:0]  rd_tag;
    reg        q_pend;
    reg [L*32-1:0] r_acc, r_res, r_v, r_s, r_max;
    /* verilator lint_off UNUSEDSIGNAL */
    reg [L*64-1:0] r_q;            // m's bits 31..25 are ignored (|m| < 2^24)
    /* verilator lint_on UNUSEDSIGNAL */
    reg [L-1:0]    evmask;
    reg            m_first, m_pend;
    reg            ev_from_max;    // the events' values come from r_max

    wire [L-1:0]    vmask_g = gmask(cout32, pg);
    wire [L*32-1:0] n_out, n_vn, n_sn;
    wire [L*32-1:0] add_sum;
    wire [L*32-1:0] kv_sum;
    wire [L*32-1:0] kv_and, q_and_a;
    wire [L-1:0]    qa_spk;
    wire            sdsa = op == OP_SDSA1;
    wire [L*32-1:0] max_new;
    wire [L-1:0]    n_spk, m_spk;
    generate
        for (l = 0; l < L; l = l + 1) begin : nu
            // SDSA1's attention LIF: x = n * 2^16 (m = 2^16, b = 0, sh = 0).
            sdt_nlane lane (
                .valid(vmask_g[l]), .mode(sdsa ? 2'd1 : mode), .sh(sdsa ? 6'd0 : sh), .k(lk),
                .dmax(dmax), .theta(a13), .res_en(res_en && !sdsa),
                .acc(r_acc[32 * l +: 32]),
                .m(sdsa ? 25'h10000 : r_q[64 * l +: 25]),
                .b(sdsa ? 32'd0 : r_q[64 * l + 32 +: 32]),
                .res(r_res[32 * l +: 32]),
                .v(r_v[32 * l +: 32]), .s(r_s[32 * l +: 32]),
                .out(n_out[32 * l +: 32]), .vn(n_vn[32 * l +: 32]), .sn(n_sn[32 * l +: 32]));
            assign n_spk[l] = n_out[32 * l +: 8] != 8'd0;
            // ADD: sat32(A + B).
            wire [32:0] sum = {r_acc[32 * l + 31], r_acc[32 * l +: 32]} +
                              {dm_rd[32 * l + 31], dm_rd[32 * l +: 32]};
            assign add_sum[32 * l +: 32] = (sum[32] != sum[31])
                                         ? (sum[32] ? 32'h80000000 : 32'h7fffffff)
                                         : sum[31:0];
            // SDSA1: n += K AND V; out = Q AND A.
            assign kv_and[32 * l +: 32] = r_acc[32 * l +: 32] + (r_res[32 * l +: 32] & dm_rd[32 * l +: 32]);
            assign q_and_a[32 * l +: 32] = r_res[32 * l +: 32] & dm_rd[32 * l +: 32];
            assign qa_spk[l] = q_and_a[32 * l +: 32] != 32'd0;
            // KV, QKV: a wrapping lane-wise sum.
            assign kv_sum[32 * l +: 32] = dm_rd[32 * l +: 32] + r_acc[32 * l +: 32];
            // MAXPOOL: the signed maximum.
            assign max_new[32 * l +: 32] =
                (m_first || $signed(dm_rd[32 * l +: 32]) > $signed(r_max[32 * l +: 32]))
                ? dm_rd[32 * l +: 32] : r_max[32 * l +: 32];
            assign m_spk[l] = r_max[32 * l +: 32] != 32'd0;
        end
    endgenerate

    // Word addresses of the scans.
    wire [31:0] nw_idx  = widx;
    wire        w_last  = widx + 1 >= nw_out;
    // MAXPOOL's window: input row iy0 + ky for ky in [ky_lo, ky_hi].
    wire [31:0] iy0     = ({24'd0, py} << s2) - pad32;     // may be "negative"
    wire [31:0] ix0     = ({24'd0, px} << s2) - pad32;
    /* verilator lint_off UNUSEDSIGNAL */
    wire [31:0] m_kylo  = iy0[31] ? 32'd0 - iy0 : 32'd0;
    wire [31:0] m_kxlo  = ix0[31] ? 32'd0 - ix0 : 32'd0;
    wire [31:0] m_kyhi0 = hin32 - 1 - iy0;
    wire [31:0] m_kxhi0 = win32 - 1 - ix0;
    wire [31:0] m_kyhi  = (!m_kyhi0[31] && m_kyhi0 < k32 - 1) ? m_kyhi0 : k32 - 1;
    wire [31:0] m_kxhi  = (!m_kxhi0[31] && m_kxhi0 < k32 - 1) ? m_kxhi0 : k32 - 1;
    wire [31:0] m_iy    = iy0 + ky32;
    wire [31:0] m_ix    = ix0 + kx32;
    wire [15:0] m_pos   = {8'd0, m_iy[7:0]} * {8'd0, win} + {8'd0, m_ix[7:0]};
    wire [31:0] m_in    = a5 + {16'd0, m_pos} * gin_z + pg;
    /* verilator lint_on UNUSEDSIGNAL */

    // The event appender (NEURON, MAXPOOL on spikes).
    wire [7:0]  ap_lane = lsb_l(evmask);
    /* verilator lint_off UNUSEDSIGNAL */
    wire [31:0] ap_c    = (pg << LOG2L) + {24'd0, ap_lane};   // < 1024 by CHECK
    wire [7:0]  ap_val  = ev_from_max ? r_max[32 * ap_lane +: 8] : n_out[32 * ap_lane +: 8];
    wire [31:0] ap_word = {py[6:0], px[6:0], ap_c[9:0], ap_val};
    wire        ap_room = lout_count < lout_cap;
    wire        ap_wait = lout_r == 4'd15 && fifo_full;
    wire [31:0] ap_addr = lout_base + lout_count;              // < 2^EVT_LOG2 by CHECK
    /* verilator lint_on UNUSEDSIGNAL */
    // An event is appended this cycle (the list's count moves at this edge).
    assign lout_inc  = state == S_EV && evmask != {L{1'b0}} && ap_room && !ap_wait;
    assign fifo_push = lout_inc && lout_r == 4'd15;

    // ------------------------------------------------------------------
    // Memory ports.  Addresses are formed in 32 bits; CHECK guarantees the
    // bits above each memory's width are 0.
    /* verilator lint_off UNUSEDSIGNAL */
    wire [31:0] pm_a  = {16'd0, pc} * 16 + {27'd0, fcnt};
    wire [31:0] ev_a0 = lin_base + ev_idx;
    wire [31:0] ev_a1 = lin_base + ev_idx + 1;
    wire [31:0] q_a   = a11 + pg;
    wire [31:0] n_acc = a8 + nw_idx;
    wire [31:0] n_res = a6 + nw_idx;
    wire [31:0] n_v   = a9 + nw_idx;
    wire [31:0] n_s   = a9 + nw_out + nw_idx;
    wire [31:0] n_o   = a7 + nw_idx;
    wire [31:0] ad_a  = a5 + nw_idx;
    wire [31:0] ad_a1 = a5 + nw_idx + 1;
    wire [31:0] ad_b  = a6 + nw_idx;
    /* verilator lint_on UNUSEDSIGNAL */

    reg [2:0] tag_now;
    always @* begin
        pm_re = 1'b0;  pm_raddr = pm_a[PMEM_LOG2-1:0];
        wm_re = 1'b0;  wm_raddr = i_w[WMEM_LOG2-1:0];
        qm_re = 1'b0;  qm_raddr = q_a[QMEM_LOG2-1:0];
        dm_re = 1'b0;  dm_raddr = i_acc[DMEM_LOG2-1:0];
        dm_we = 1'b0;  dm_waddr = n_o[DMEM_LOG2-1:0];  dm_wdata = {L*32{1'b0}};
        ev_re = 1'b0;  ev_raddr = ev_a0[EVT_LOG2-1:0];
        ev_we = 1'b0;  ev_waddr = ap_addr[EVT_LOG2-1:0]; ev_wdata = ap_word;
        tag_now = T_NONE;
        case (state)
        S_FETCH:
            pm_re = fcnt < 5'd16;
        S_C_FIRST:
            ev_re = ev_n != 32'd0;
        S_C_DEC: begin
            ev_re = ev_more && !e_bad;
            ev_raddr = ev_a1[EVT_LOG2-1:0];
        end
        S_C_ISSUE: begin
            dm_re = 1'b1;
            wm_re = !sump;
        end
        S_N_RD: begin
            dm_re = 1'b1;
            case (nsub)
            2'd0: begin dm_raddr = n_acc[DMEM_LOG2-1:0]; qm_re = 1'b1; tag_now = T_ACC; end
            2'd1: begin dm_raddr = n_res[DMEM_LOG2-1:0]; tag_now = T_RES; end
            2'd2: begin dm_raddr = n_v[DMEM_LOG2-1:0];   tag_now = T_V; end
            default: begin dm_raddr = n_s[DMEM_LOG2-1:0]; tag_now = T_S; end
            endcase
        end
        S_N_WR: begin
            dm_we = 1'b1;
            case (nsub)
            2'd0: begin dm_waddr = n_o[DMEM_LOG2-1:0];   dm_wdata = n_out; end
            2'd1: begin dm_waddr = n_v[DMEM_LOG2-1:0];   dm_wdata = n_vn; end
            2'd2: begin dm_waddr = n_s[DMEM_LOG2-1:0];   dm_wdata = n_sn; end
            default: begin dm_waddr = n_acc[DMEM_LOG2-1:0]; dm_wdata = {L*32{1'b0}}; end
            endcase
        end
        S_EV:
            ev_we = lout_inc;
        S_A_RA: begin
            dm_re = 1'b1; dm_raddr = ad_a[DMEM_LOG2-1:0];
        end
        S_A_RB: begin
            dm_re = 1'b1; dm_raddr = ad_b[DMEM_LOG2-1:0];
        end
        S_A_W: begin
            dm_we = 1'b1; dm_wdata = add_sum;
            dm_re = !w_last; dm_raddr = ad_a1[DMEM_LOG2-1:0];
        end
        S_M_RD: begin
            dm_re = 1'b1; dm_raddr = m_in[DMEM_LOG2-1:0];
        end
        S_M_WR: begin
            dm_we = 1'b1; dm_wdata = r_max;
        end
        S_CLR: begin
            dm_we = widx < a15;
        end
        S_K_RA: begin
            dm_re = 1'b1; dm_raddr = k_src[DMEM_LOG2-1:0];
        end
        S_K_RB: begin
            dm_re = 1'b1; dm_raddr = k_dst[DMEM_LOG2-1:0];
        end
        S_K_W: begin
            dm_we = 1'b1; dm_waddr = k_dst[DMEM_LOG2-1:0]; dm_wdata = kv_sum;
        end
        S_K_CLR: begin
            dm_we = widx < kv_rows; dm_waddr = k_clr[DMEM_LOG2-1:0];
        end
        S_S_RK: begin dm_re = 1'b1; dm_raddr = s_k[DMEM_LOG2-1:0]; end
        S_S_RV: begin dm_re = 1'b1; dm_raddr = s_v[DMEM_LOG2-1:0]; end
        S_S_LV: begin dm_re = 1'b1; dm_raddr = s_st[DMEM_LOG2-1:0]; end
        S_S_LW2: begin dm_we = 1'b1; dm_waddr = s_st[DMEM_LOG2-1:0]; dm_wdata = n_vn; end
        S_S_LW3: begin dm_we = 1'b1; dm_waddr = s_a[DMEM_LOG2-1:0]; dm_wdata = n_out; end
        S_S_Q: begin dm_re = 1'b1; dm_raddr = s_q[DMEM_LOG2-1:0]; end
        S_S_A: begin dm_re = 1'b1; dm_raddr = s_a[DMEM_LOG2-1:0]; end
        S_S_O: begin dm_we = 1'b1; dm_wdata = q_and_a; end      // at 7 + widx
        S_S_CLR: begin
            dm_we = widx < gout; dm_waddr = s_clr[DMEM_LOG2-1:0];
        end
        default: ;
        endcase
        // The RMW stage owns the write port while it holds an update.
        if (p1_valid) begin
            dm_we = 1'b1;
            dm_waddr = p1_addr;
            dm_wdata = p1_new;
        end
    end

    // ------------------------------------------------------------------
    // The state machine.
    always @(posedge clk) begin
        // Defaults: one-cycle pulses.
        lout_clr <= 1'b0;
        inc_pe_lanes <= 8'd0;
        inc_pe_issue <= 1'b0;
        inc_nu_lanes <= 8'd0;
        inc_events_in <= 1'b0;
        inc_mul <= 8'd0;
        p1_valid <= 1'b0;

        fwd_hit  <= dm_re && dm_we && dm_raddr == dm_waddr;
        fwd_data <= dm_wdata;
        ev_pend  <= ev_re;
        if (ev_pend)
            ev_buf <= ev_rdata;
        q_pend <= qm_re;
        if (q_pend)
            r_q <= qm_rdata;
        rd_tag <= tag_now;
        case (rd_tag)
        T_ACC: r_acc <= dm_rd;
        T_RES: r_res <= dm_rd;
        T_V:   r_v <= dm_rd;
        T_S:   r_s <= dm_rd;
        default: ;
        endcase
        m_pend <= state == S_M_RD;
        if (m_pend) begin
            r_max <= max_new;
            m_first <= 1'b0;
        end

        if (rst) begin
            state <= S_IDLE;
            busy <= 1'b0;
            done <= 1'b0;
            error <= 1'b0;
            err_code <= 8'd0;
            pc <= 16'd0;
            fwd_hit <= 1'b0;
            ev_pend <= 1'b0;
            q_pend <= 1'b0;
            rd_tag <= T_NONE;
            m_pend <= 1'b0;
        end else begin
            case (state)
            S_IDLE:
                if (start) begin
                    busy <= 1'b1;
                    done <= 1'b0;
                    error <= 1'b0;
                    err_code <= 8'd0;
                    pc <= 16'd0;
                    fcnt <= 5'd0;
                    state <= S_FETCH;
                end
            S_FETCH: begin
                if (fcnt == 5'd0 && {16'd0, pc} >= (32'd1 << PC_W)) begin
                    err_code <= 8'd5;
                    state <= S_IDLE;
                    busy <= 1'b0;
                    error <= 1'b1;
                end else begin
                    fcnt <= fcnt + 5'd1;
                    case (fcnt)
                    5'd1:  begin op <= pm_rdata[7:0]; flag0 <= pm_rdata[8]; end
                    5'd2:  begin cin <= pm_rdata[15:0]; cout <= pm_rdata[31:16]; end
                    5'd3:  begin hin <= pm_rdata[7:0]; win <= pm_rdata[15:8];
                                 hout <= pm_rdata[23:16]; wout <= pm_rdata[31:24]; end
                    5'd4:  begin kk <= pm_rdata[3:0]; st <= pm_rdata[7:4]; pad <= pm_rdata[11:8];
                                 dwise <= pm_rdata[12]; int4 <= pm_rdata[13]; cnts <= pm_rdata[14]; end
                    5'd5:  begin lin_r <= pm_rdata[3:0]; lout_r <= pm_rdata[7:4]; end
                    5'd6:  a5 <= pm_rdata;
                    5'd7:  a6 <= pm_rdata;
                    5'd8:  a7 <= pm_rdata;
                    5'd9:  a8 <= pm_rdata;
                    5'd10: a9 <= pm_rdata;
                    5'd11: a10 <= pm_rdata;
                    5'd12: a11 <= pm_rdata;
                    5'd13: begin sh <= pm_rdata[5:0]; lk <= pm_rdata[11:8];
                                 mode <= pm_rdata[13:12]; res_en <= pm_rdata[14];
                                 clr_en <= pm_rdata[15]; dmax <= pm_rdata[19:16];
                                 heads <= pm_rdata[27:20]; end
                    5'd14: a13 <= pm_rdata;
                    5'd16: begin a15 <= pm_rdata; state <= S_CHECK; end
                    default: ;
                    endcase
                end
            end
            S_CHECK: begin
                widx <= 32'd0;
                py <= 8'd0;
                px <= 8'd0;
                pg <= 32'd0;
                nsub <= 2'd0;
                if (chk != 8'd0) begin
                    err_code <= chk;
                    state <= S_IDLE;
                    busy <= 1'b0;
                    error <= 1'b1;
                end else begin
                    case (op)
                    OP_CONV, OP_SUMPOOL, OP_KV, OP_QKV: begin
                        sump <= op == OP_SUMPOOL;
                        kvop <= op == OP_KV || op == OP_QKV;
                        qkvop <= op == OP_QKV;
                        ev_idx <= 32'd0;
                        ev_n <= lin_count;
                        state <= S_C_FIRST;
                    end
                    OP_NEURON: state <= S_N_RD;
                    OP_SDSA1: begin
                        kw <= 32'd0;
                        r_acc <= {L*32{1'b0}};
                        state <= S_S_RK;
                    end
                    OP_ADD: state <= S_A_RA;
                    OP_MAXPOOL: state <= S_M_START;
                    OP_CLEAR: begin
                        lout_clr <= flag0;
                        state <= S_CLR;
                    end
                    default: begin   // END
                        state <= S_IDLE;
                        busy <= 1'b0;
                        done <= 1'b1;
                    end
                    endcase
                end
            end
            S_NEXT: begin
                pc <= pc + 16'd1;
                fcnt <= 5'd0;
                state <= S_FETCH;
            end

            // ---- the event walker
            S_C_FIRST:
                state <= (ev_n != 32'd0) ? S_C_DEC : qkvop ? S_K_CLR : S_NEXT;
            S_C_DEC: begin
                inc_events_in <= 1'b1;
                if (e_bad) begin
                    err_code <= 8'd6;
                    state <= S_IDLE;
                    busy <= 1'b0;
                    error <= 1'b1;
                end else begin
                    ec <= e_c;
                    ey <= e_y;
                    ex <= e_x;
                    ev_val <= e_v;
                    vmask <= e_mask;
                    vbit <= lsb8(e_mask);
                    g <= 32'd0;
                    if (sump) begin
                        ky <= 4'd0; ky_lo <= 4'd0; ky_hi <= 4'd0;
                        kx <= 4'd0; kx_lo <= 4'd0; kx_hi <= 4'd0;
                    end else begin
                        ky <= ky_lo0[3:0]; ky_lo <= ky_lo0[3:0]; ky_hi <= ky_hi0[3:0];
                        kx <= kx_lo0[3:0]; kx_lo <= kx_lo0[3:0]; kx_hi <= kx_hi0[3:0];
                    end
                    ev_idx <= ev_idx + 1;
                    k_hd <= {21'd0, e_head} * kv_dw;
                    kw <= 32'd0;
                    if (kvop)
                        state <= S_K_RA;
                    else if (e_work)
                        state <= S_C_ISSUE;
                    else if (!ev_more)
                        state <= S_NEXT;
                end
            end
            S_C_ISSUE: begin
                p1_valid <= 1'b1;
                p1_addr <= i_acc[DMEM_LOG2-1:0];
                p1_mask <= i_mask;
                p1_shift <= vbit;
                p1_nib <= g[0];
                p1_int4 <= int4;
                p1_sump <= sump;
                p1_val <= ev_val;
                inc_pe_issue <= 1'b1;
                inc_pe_lanes <= popc(i_mask);
                if (!last_g)
                    g <= g + 1;
                else begin
                    g <= 32'd0;
                    if (!last_kx)
                        kx <= kx + kstep;
                    else begin
                        kx <= kx_lo;
                        if (!last_ky)
                            ky <= ky + kstep;
                        else begin
                            ky <= ky_lo;
                            if (rest != 8'd0) begin
                                vmask <= rest;
                                vbit <= lsb8(rest);
                            end else
                                state <= (ev_idx < ev_n) ? S_C_DEC : S_NEXT;
                        end
                    end
                end
            end

            // ---- NEURON
            S_N_RD: begin
                case (nsub)
                2'd0: nsub <= res_en ? 2'd1 : (mode != 2'd0) ? 2'd2 : 2'd0;
                2'd1: nsub <= (mode != 2'd0) ? 2'd2 : 2'd0;
                2'd2: nsub <= (mode == 2'd2) ? 2'd3 : 2'd0;
                default: nsub <= 2'd0;
                endcase
                if ((nsub == 2'd0 && !res_en && mode == 2'd0) ||
                    (nsub == 2'd1 && mode == 2'd0) ||
                    (nsub == 2'd2 && mode != 2'd2) || nsub == 2'd3)
                    state <= S_N_WAIT;
            end
            S_N_WAIT: begin
                nsub <= 2'd0;
                state <= S_N_WR;
            end
            S_N_WR: begin
                if (nsub == 2'd0) begin
                    inc_nu_lanes <= popc(vmask_g);
                    inc_mul <= popc(vmask_g);
                    evmask <= (mode != 2'd0) ? n_spk : {L{1'b0}};
                    ev_from_max <= 1'b0;
                end
                case (nsub)
                2'd0: nsub <= (mode != 2'd0) ? 2'd1 : clr_en ? 2'd3 : 2'd0;
                2'd1: nsub <= (mode == 2'd2) ? 2'd2 : clr_en ? 2'd3 : 2'd0;
                2'd2: nsub <= clr_en ? 2'd3 : 2'd0;
                default: nsub <= 2'd0;
                endcase
                if ((nsub == 2'd0 && mode == 2'd0 && !clr_en) ||
                    (nsub == 2'd1 && mode != 2'd2 && !clr_en) ||
                    (nsub == 2'd2 && !clr_en) || nsub == 2'd3)
                    state <= S_EV;
            end

            // ---- the event appender, then the next output word
            S_EV: begin
                if (evmask != {L{1'b0}}) begin
                    if (!ap_room) begin
                        err_code <= 8'd4;
                        state <= S_IDLE;
                        busy <= 1'b0;
                        error <= 1'b1;
                    end else if (!ap_wait)
                        evmask <= evmask & ~({{(L-1){1'b0}}, 1'b1} << ap_lane);
                end else begin
                    widx <= widx + 1;
                    nsub <= 2'd0;
                    if (pg + 1 == gout) begin
                        pg <= 32'd0;
                        if ({24'd0, px} + 1 == wout32) begin
                            px <= 8'd0;
                            py <= py + 8'd1;
                        end else
                            px <= px + 8'd1;
                    end else
                        pg <= pg + 1;
                    if (w_last) begin
                        state <= sdsa ? S_S_CLR : S_NEXT;
                        if (sdsa)
                            widx <= 32'd0;
                    end else
                        state <= (op == OP_MAXPOOL) ? S_M_START : sdsa ? S_S_Q : S_N_RD;
                end
            end

            // ---- ADD: A read, B read, write (and the next A read)
            S_A_RA:
                state <= S_A_RB;
            S_A_RB: begin
                r_acc <= dm_rd;
                state <= S_A_W;
            end
            S_A_W: begin
                widx <= widx + 1;
                state <= w_last ? S_NEXT : S_A_RB;
            end

            // ---- MAXPOOL
            S_M_START: begin
                ky <= m_kylo[3:0]; ky_lo <= m_kylo[3:0]; ky_hi <= m_kyhi[3:0];
                kx <= m_kxlo[3:0]; kx_lo <= m_kxlo[3:0]; kx_hi <= m_kxhi[3:0];
                m_first <= 1'b1;
                state <= S_M_RD;
            end
            S_M_RD: begin
                if (kx != kx_hi)
                    kx <= kx + 4'd1;
                else begin
                    kx <= kx_lo;
                    if (ky != ky_hi)
                        ky <= ky + 4'd1;
                    else
                        state <= S_M_WAIT;
                end
            end
            S_M_WAIT:
                state <= S_M_WR;
            S_M_WR: begin
                evmask <= cnts ? {L{1'b0}} : m_spk;
                ev_from_max <= 1'b1;
                state <= S_EV;
            end

            // ---- KV, QKV: addend read, target read, write, per word of a row
            S_K_RA:
                state <= S_K_RB;
            S_K_RB: begin
                r_acc <= dm_rd;
                state <= S_K_W;
            end
            S_K_W: begin
                inc_pe_issue <= 1'b1;
                inc_pe_lanes <= L8;
                if (kw + 1 < kv_dw) begin
                    kw <= kw + 1;
                    state <= S_K_RA;
                end else if (ev_idx < ev_n)
                    state <= S_C_DEC;
                else
                    state <= qkvop ? S_K_CLR : S_NEXT;
            end
            S_K_CLR: begin
                if (widx < kv_rows)
                    widx <= widx + 1;
                else
                    state <= S_NEXT;
            end

            // ---- SDSA1: per group, n = sum over tokens of K AND V, then the
            // attention LIF (state at 9, A into the scratch at 15); then per
            // word out = Q AND A with its events; then the scratch is zeroed.
            S_S_RK:
                state <= S_S_RV;
            S_S_RV: begin
                r_res <= dm_rd;
                state <= S_S_AC;
            end
            S_S_AC: begin
                r_acc <= kv_and;
                if ({24'd0, kw[7:0]} + 1 < hin32) begin
                    kw <= kw + 1;
                    state <= S_S_RK;
                end else
                    state <= S_S_LV;
            end
            S_S_LV:
                state <= S_S_LW1;
            S_S_LW1: begin
                r_v <= dm_rd;
                state <= S_S_LW2;
            end
            S_S_LW2: begin
                inc_nu_lanes <= popc(vmask_g);
                state <= S_S_LW3;
            end
            S_S_LW3: begin
                kw <= 32'd0;
                r_acc <= {L*32{1'b0}};
                if (pg + 1 < gout) begin
                    pg <= pg + 1;
                    state <= S_S_RK;
                end else begin
                    pg <= 32'd0;
                    state <= S_S_Q;
                end
            end
            S_S_Q:
                state <= S_S_A;
            S_S_A: begin
                r_res <= dm_rd;
                state <= S_S_O;
            end
            S_S_O: begin
                r_max <= q_and_a;
                evmask <= qa_spk;
                ev_from_max <= 1'b1;
                state <= S_EV;
            end
            S_S_CLR: begin
                if (widx < gout)
                    widx <= widx + 1;
                else
                    state <= S_NEXT;
            end

            // ---- CLEAR
            S_CLR: begin
                if (widx < a15)
                    widx <= widx + 1;
                else
                    state <= S_NEXT;
            end
            default:
                state <= S_IDLE;
            endcase
        end
    end
endmodule
