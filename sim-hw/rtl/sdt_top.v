// sdt_top: the sdt accelerator (docs/sdt-accelerator.md): host interface,
// list registers, counters, output FIFO, the five memories and the core.
//
// The host port is a synchronous 32-bit register bus: in a cycle with we the
// register at addr (a byte address, word aligned) takes wdata at the clock
// edge; in a cycle with re, rdata holds the register's value after the edge
// (reading FIFO_DATA pops the FIFO).  The load port (MEM_SEL, MEM_ADDR,
// MEM_LANE, MEM_WDATA, MEM_RDATA) reaches every memory while the machine is
// not BUSY: a write of MEM_WDATA writes that 32-bit slice; MEM_RDATA gives
// the slice at MEM_SEL/MEM_ADDR/MEM_LANE as read at least two cycles after
// the last change of those registers (or of the memory).  While BUSY the
// core owns every memory port and load-port writes are ignored.
// Invariants: LANES is a power of two, 4 .. 128 (a WMEM word is a whole
// number of 32-bit slices); PMEM_LOG2 <= 19 so a PC fits the 16 bits of
// ERROR_INFO; every log2 size is 4 .. 19 (CONFIG's fields hold log2 - 4).
module sdt_top #(
    parameter LANES     = 16,
    parameter PMEM_LOG2 = 14,
    parameter WMEM_LOG2 = 16,
    parameter QMEM_LOG2 = 12,
    parameter DMEM_LOG2 = 16,
    parameter EVT_LOG2  = 18,
    parameter FIFO_LOG2 = 6
) (
    input  wire        clk,
    input  wire        rst,
    input  wire [11:0] addr,
    input  wire [31:0] wdata,
    input  wire        we,
    input  wire        re,
    output reg  [31:0] rdata
);
    localparam L  = LANES;
    localparam WS = L / 4;        // 32-bit slices of a WMEM word
    localparam QS = L * 2;        // ... of a QMEM word
    localparam DS = L;            // ... of a DMEM word
    localparam FD = 1 << FIFO_LOG2;

    localparam [11:0] A_ID = 12'h000, A_CONFIG = 12'h004, A_CTRL = 12'h008,
                      A_STATUS = 12'h00c, A_ERRINFO = 12'h010, A_PC = 12'h014,
                      A_FIFO_DATA = 12'h018, A_FIFO_COUNT = 12'h01c,
                      A_MEM_SEL = 12'h0e0, A_MEM_ADDR = 12'h0e4, A_MEM_LANE = 12'h0e8,
                      A_MEM_WDATA = 12'h0ec, A_MEM_RDATA = 12'h0f0;

    localparam integer LANES_I = L, PM_I = PMEM_LOG2 - 4, WM_I = WMEM_LOG2 - 4,
                       QM_I = QMEM_LOG2 - 4, DM_I = DMEM_LOG2 - 4, EV_I = EVT_LOG2 - 4;
    wire [31:0] config_word = {3'd0, EV_I[4:0], DM_I[3:0], QM_I[3:0], WM_I[3:0], PM_I[3:0],
                               LANES_I[7:0]};

    // ------------------------------------------------------------------
    // The core and its ports.
    wire                  busy, done, error;
    wire [7:0]            err_code;
    wire [15:0]           pc;
    wire                  c_pm_re, c_wm_re, c_qm_re, c_dm_re, c_dm_we, c_ev_re, c_ev_we;
    wire [PMEM_LOG2-1:0]  c_pm_raddr;
    wire [WMEM_LOG2-1:0]  c_wm_raddr;
    wire [QMEM_LOG2-1:0]  c_qm_raddr;
    wire [DMEM_LOG2-1:0]  c_dm_raddr, c_dm_waddr;
    wire [L*32-1:0]       c_dm_wdata;
    wire [EVT_LOG2-1:0]   c_ev_raddr, c_ev_waddr;
    wire [31:0]           c_ev_wdata;
    wire [31:0]           pm_rdata, ev_rdata;
    wire [L*8-1:0]        wm_rdata;
    wire [L*64-1:0]       qm_rdata;
    wire [L*32-1:0]       dm_rdata;
    wire [3:0]            lin_sel, lout_sel;
    wire                  lout_inc, lout_clr, fifo_push;
    wire [7:0]            inc_pe_lanes, inc_nu_lanes, inc_mul;
    wire                  inc_pe_issue, inc_events_in;
    reg                   start;

    reg [32*16-1:0] l_base, l_cap, l_count;
    reg [FIFO_LOG2:0] f_wp, f_rp;
    wire [FIFO_LOG2:0] f_count = f_wp - f_rp;
    wire f_full  = f_count[FIFO_LOG2];
    wire f_empty = f_count == {(FIFO_LOG2 + 1){1'b0}};

    sdt_core #(
        .LANES(LANES), .PMEM_LOG2(PMEM_LOG2), .WMEM_LOG2(WMEM_LOG2),
        .QMEM_LOG2(QMEM_LOG2), .DMEM_LOG2(DMEM_LOG2), .EVT_LOG2(EVT_LOG2)
    ) core (
        .clk(clk), .rst(rst), .start(start),
        .busy(busy), .done(done), .error(error), .err_code(err_code), .pc(pc),
        .pm_re(c_pm_re), .pm_raddr(c_pm_raddr), .pm_rdata(pm_rdata),
        .wm_re(c_wm_re), .wm_raddr(c_wm_raddr), .wm_rdata(wm_rdata),
        .qm_re(c_qm_re), .qm_raddr(c_qm_raddr), .qm_rdata(qm_rdata),
        .dm_re(c_dm_re), .dm_raddr(c_dm_raddr), .dm_rdata(dm_rdata),
        .dm_we(c_dm_we), .dm_waddr(c_dm_waddr), .dm_wdata(c_dm_wdata),
        .ev_re(c_ev_re), .ev_raddr(c_ev_raddr), .ev_rdata(ev_rdata),
        .ev_we(c_ev_we), .ev_waddr(c_ev_waddr), .ev_wdata(c_ev_wdata),
        .lin_sel(lin_sel), .lout_sel(lout_sel),
        .lin_base(l_base[32 * lin_sel +: 32]), .lin_cap(l_cap[32 * lin_sel +: 32]),
        .lin_count(l_count[32 * lin_sel +: 32]),
        .lout_base(l_base[32 * lout_sel +: 32]), .lout_cap(l_cap[32 * lout_sel +: 32]),
        .lout_count(l_count[32 * lout_sel +: 32]),
        .lout_inc(lout_inc), .lout_clr(lout_clr),
        .fifo_push(fifo_push), .fifo_full(f_full),
        .inc_pe_lanes(inc_pe_lanes), .inc_pe_issue(inc_pe_issue),
        .inc_nu_lanes(inc_nu_lanes), .inc_events_in(inc_events_in), .inc_mul(inc_mul));

    // ------------------------------------------------------------------
    // The load port and the memories.
    reg [2:0]  mem_sel;
    reg [31:0] mem_addr;
    reg [7:0]  mem_lane;
    wire       h_wr = we && addr == A_MEM_WDATA && !busy;
    wire [QS-1:0] h_slice1 = {{(QS - 1){1'b0}}, 1'b1} << mem_lane;   // one-hot slice enable
    /* verilator lint_off UNUSEDSIGNAL */
    // The host's address is checked against nothing: its high bits are
    // dropped, as a bus decoder that ignores unmapped bits would.
    wire [31:0] h_addr = mem_addr;
    /* verilator lint_on UNUSEDSIGNAL */

    wire pm_we = !busy && h_wr && mem_sel == 3'd0;
    wire wm_we = !busy && h_wr && mem_sel == 3'd1;
    wire qm_we = !busy && h_wr && mem_sel == 3'd2;
    wire dm_we = busy ? c_dm_we : (h_wr && mem_sel == 3'd3);
    wire ev_we = busy ? c_ev_we : (h_wr && mem_sel == 3'd4);

    sdt_sram #(.W(32), .AW(PMEM_LOG2)) pmem (
        .clk(clk), .re(busy ? c_pm_re : 1'b1),
        .raddr(busy ? c_pm_raddr : h_addr[PMEM_LOG2-1:0]), .rdata(pm_rdata),
        .we(pm_we), .waddr(h_addr[PMEM_LOG2-1:0]), .wdata(wdata),
        .wen(1'b1));
    sdt_sram #(.W(L * 8), .AW(WMEM_LOG2)) wmem (
        .clk(clk), .re(busy ? c_wm_re : 1'b1),
        .raddr(busy ? c_wm_raddr : h_addr[WMEM_LOG2-1:0]), .rdata(wm_rdata),
        .we(wm_we), .waddr(h_addr[WMEM_LOG2-1:0]), .wdata({WS{wdata}}),
        .wen(h_slice1[WS-1:0]));
    sdt_sram #(.W(L * 64), .AW(QMEM_LOG2)) qmem (
        .clk(clk), .re(busy ? c_qm_re : 1'b1),
        .raddr(busy ? c_qm_raddr : h_addr[QMEM_LOG2-1:0]), .rdata(qm_rdata),
        .we(qm_we), .waddr(h_addr[QMEM_LOG2-1:0]), .wdata({QS{wdata}}),
        .wen(h_slice1[QS-1:0]));
    sdt_sram #(.W(L * 32), .AW(DMEM_LOG2)) dmem (
        .clk(clk), .re(busy ? c_dm_re : 1'b1),
        .raddr(busy ? c_dm_raddr : h_addr[DMEM_LOG2-1:0]), .rdata(dm_rdata),
        .we(dm_we), .waddr(busy ? c_dm_waddr : h_addr[DMEM_LOG2-1:0]),
        .wdata(busy ? c_dm_wdata : {DS{wdata}}),
        .wen(busy ? {DS{1'b1}} : h_slice1[DS-1:0]));
    sdt_sram #(.W(32), .AW(EVT_LOG2)) evt (
        .clk(clk), .re(busy ? c_ev_re : 1'b1),
        .raddr(busy ? c_ev_raddr : h_addr[EVT_LOG2-1:0]), .rdata(ev_rdata),
        .we(ev_we), .waddr(busy ? c_ev_waddr : h_addr[EVT_LOG2-1:0]),
        .wdata(busy ? c_ev_wdata : wdata), .wen(1'b1));

    // MEM_RDATA: the selected slice of the selected memory's last read.
    /* verilator lint_off UNUSEDSIGNAL */
    wire [L*8-1:0]  wm_sh = wm_rdata >> {mem_lane, 5'd0};
    wire [L*64-1:0] qm_sh = qm_rdata >> {mem_lane, 5'd0};
    wire [L*32-1:0] dm_sh = dm_rdata >> {mem_lane, 5'd0};
    /* verilator lint_on UNUSEDSIGNAL */
    reg [31:0] mem_rdata;
    always @* begin
        case (mem_sel)
        3'd0: mem_rdata = pm_rdata;
        3'd1: mem_rdata = wm_sh[31:0];
        3'd2: mem_rdata = qm_sh[31:0];
        3'd3: mem_rdata = dm_sh[31:0];
        3'd4: mem_rdata = ev_rdata;
        default: mem_rdata = 32'd0;
        endcase
    end

    // ------------------------------------------------------------------
    // Counters: 16 x 64 bits.
    reg [64*16-1:0] cnt;
    wire [64*16-1:0] cinc = {
        {56'd0, inc_mul},                              // 15 requantization multiplies
        {56'd0, inc_pe_lanes},                         // 14 accumulates
        {63'd0, lout_inc},                             // 13 spikes out
        {63'd0, inc_events_in},                        // 12 events in
        {63'd0, busy && c_ev_we},                      // 11 EVT writes
        {63'd0, busy && c_ev_re},                      // 10 EVT reads
        {63'd0, busy && c_dm_we},                      //  9 DMEM writes
        {63'd0, busy && c_dm_re},                      //  8 DMEM reads
        64'd0,                                         //  7 QMEM writes (the core never writes)
        {63'd0, busy && c_qm_re},                      //  6 QMEM reads
        64'd0,                                         //  5 WMEM writes (the core never writes)
        {63'd0, busy && c_wm_re},                      //  4 WMEM reads
        {56'd0, inc_nu_lanes},                         //  3 neuron lane-cycles
        {63'd0, inc_pe_issue},                         //  2 PE array cycles
        {56'd0, inc_pe_lanes},                         //  1 PE busy lane-cycles
        {63'd0, busy}                                  //  0 cycles while BUSY
    };
    wire cnt_reset = we && addr == A_CTRL && wdata[1];
    genvar n;
    generate
        for (n = 0; n < 16; n = n + 1) begin : counter
            always @(posedge clk)
                if (rst || cnt_reset)
                    cnt[64 * n +: 64] <= 64'd0;
                else
                    cnt[64 * n +: 64] <= cnt[64 * n +: 64] + cinc[64 * n +: 64];
        end
    endgenerate

    // ------------------------------------------------------------------
    // List registers.  START zeroes LIST_COUNT1 .. 15; the core moves the
    // output list's count.
    wire do_start = we && addr == A_CTRL && wdata[0] && !busy;
    genvar r;
    generate
        for (r = 0; r < 16; r = r + 1) begin : list
            localparam [11:0] AB = 12'h020 + 4 * r, AC = 12'h060 + 4 * r, AN = 12'h0a0 + 4 * r;
            always @(posedge clk) begin
                if (rst) begin
                    l_base[32 * r +: 32] <= 32'd0;
                    l_cap[32 * r +: 32] <= 32'd0;
                    l_count[32 * r +: 32] <= 32'd0;
                end else begin
                    if (we && addr == AB)
                        l_base[32 * r +: 32] <= wdata;
                    if (we && addr == AC)
                        l_cap[32 * r +: 32] <= wdata;
                    if (do_start && r != 0)
                        l_count[32 * r +: 32] <= 32'd0;
                    else if (busy && lout_clr && lout_sel == r)
                        l_count[32 * r +: 32] <= 32'd0;
                    else if (busy && lout_inc && lout_sel == r)
                        l_count[32 * r +: 32] <= l_count[32 * r +: 32] + 32'd1;
                    else if (we && addr == AN && !busy)
                        l_count[32 * r +: 32] <= wdata;
                end
            end
        end
    endgenerate

    // ------------------------------------------------------------------
    // The output FIFO.
    reg [31:0] fifo [0:FD-1];
    wire f_pop = re && addr == A_FIFO_DATA && !f_empty;
    always @(posedge clk) begin
        if (fifo_push && !f_full)
            fifo[f_wp[FIFO_LOG2-1:0]] <= c_ev_wdata;
    end

    // ------------------------------------------------------------------
    // Host registers.
    always @(posedge clk) begin
        start <= do_start;
        if (rst) begin
            mem_sel <= 3'd0;
            mem_addr <= 32'd0;
            mem_lane <= 8'd0;
            f_wp <= {(FIFO_LOG2 + 1){1'b0}};
            f_rp <= {(FIFO_LOG2 + 1){1'b0}};
            start <= 1'b0;
            rdata <= 32'd0;
        end else begin
            if (we && addr == A_MEM_SEL)  mem_sel <= wdata[2:0];
            if (we && addr == A_MEM_ADDR) mem_addr <= wdata;
            if (we && addr == A_MEM_LANE) mem_lane <= wdata[7:0];
            if (we && addr == A_CTRL && wdata[2]) begin
                f_wp <= {(FIFO_LOG2 + 1){1'b0}};
                f_rp <= {(FIFO_LOG2 + 1){1'b0}};
            end else begin
                if (fifo_push && !f_full)
                    f_wp <= f_wp + 1'b1;
                if (f_pop)
                    f_rp <= f_rp + 1'b1;
            end
            if (re) begin
                casez (addr)
                A_ID:         rdata <= 32'h31544453;
                A_CONFIG:     rdata <= config_word;
                A_STATUS:     rdata <= {27'd0, f_full, !f_empty, error, done, busy || start};
                A_ERRINFO:    rdata <= {pc, 8'd0, err_code};
                A_PC:         rdata <= {16'd0, pc};
                A_FIFO_DATA:  rdata <= f_empty ? 32'd0 : fifo[f_rp[FIFO_LOG2-1:0]];
                A_FIFO_COUNT: rdata <= {{(31 - FIFO_LOG2){1'b0}}, f_count};
                A_MEM_SEL:    rdata <= {29'd0, mem_sel};
                A_MEM_ADDR:   rdata <= mem_addr;
                A_MEM_LANE:   rdata <= {24'd0, mem_lane};
                A_MEM_RDATA:  rdata <= mem_rdata;
                12'b0000_001?_??00, 12'b0000_010?_??00:   // 0x20 .. 0x5c
                    rdata <= l_base[32 * (addr[7:2] - 6'd8) +: 32];
                12'b0000_011?_??00, 12'b0000_100?_??00:   // 0x60 .. 0x9c
                    rdata <= l_cap[32 * (addr[7:2] - 6'd24) +: 32];
                12'b0000_101?_??00, 12'b0000_110?_??00:   // 0xa0 .. 0xdc
                    rdata <= l_count[32 * (addr[7:2] - 6'd40) +: 32];
                12'b0001_0???_??00:                       // 0x100 .. 0x17c
                    rdata <= cnt[64 * addr[6:3] + 32 * addr[2] +: 32];
                default:      rdata <= 32'd0;
                endcase
            end
        end
    end
endmodule
