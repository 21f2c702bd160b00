#!/usr/bin/env bash
# Draws cases 1-3 of tests/bench/compare.sh into one PNG with gnuplot:
#   case 1  sequential connects, conns/s per tool (higher is better)
#   case 2  concurrent connects through a 100 ms proxy, wall seconds at N=40 and N=400 per tool,
#           log scale, with the ideal (lower is better)
#   case 3  start-up cost, ms per run of /bin/true under each tool (lower is better)
# Tools that could not do a case are shown as "n/a".
#
#   tests/bench/chart.sh [RESULTS_DIR [OUTPUT.png]]
#
# RESULTS_DIR defaults to tests/bench/results, OUTPUT to RESULTS_DIR/bench.png. Uses the pngcairo
# terminal, or gnuplot's png (libgd) terminal where cairo is missing.
set -euo pipefail
ME=chart.sh
die() { echo "$ME: $*" >&2; exit 1; }

DIR=${1:-tests/bench/results}
OUT=${2:-$DIR/bench.png}
command -v gnuplot > /dev/null || die "gnuplot not found: run scripts/deps.sh (gnuplot-nox)"
C1=$DIR/case1-connect.csv C2=$DIR/case2-concurrent.csv C3=$DIR/case3-startup.csv
[[ -f $C1 || -f $C2 || -f $C3 ]] || die "no case1/2/3 CSV in $DIR: run tests/bench/compare.sh first"

TMP=$(mktemp -d /tmp/socksify-bench-chart.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

# bars CSV METRIC OUT: "index tool value" lines for one metric ("?" for n/a), in the CSV's order.
bars() {
    [[ -f $1 ]] || { : > "$3"; return; }
    awk -F, -v m="$2" 'NR > 1 && $2 == m { printf "%d \"%s\" %s\n", n++, $1, ($3 == "n/a" ? "?" : $3) }' "$1" > "$3"
}
bars "$C1" conns_per_s "$TMP/c1.dat"
bars "$C3" per_run_ms "$TMP/c3.dat"
# case 2: "index tool n40 n400", tools in the CSV's order
if [[ -f $C2 ]]; then
    awk -F, 'NR > 1 { if (!($1 in i)) { i[$1] = n++; t[i[$1]] = $1 }
                      v = ($3 == "n/a" ? "?" : $3)
                      if ($2 == "wall_s_n40") a[$1] = v; else if ($2 == "wall_s_n400") b[$1] = v }
             END { for (k = 0; k < n; k++) { x = t[k]; printf "%d \"%s\" %s %s\n", k, x, (x in a ? a[x] : "?"), (x in b ? b[x] : "?") } }' "$C2" > "$TMP/c2.dat"
else
    : > "$TMP/c2.dat"
fi

if gnuplot -e 'set terminal' 2> /dev/null | grep -qw pngcairo; then
    TERM_LINE="set terminal pngcairo size 1800,620 font 'sans,10'"
else
    TERM_LINE="set terminal png size 1800,620"
fi
INFO=""
if [[ -f $DIR/run-info.txt ]]; then
    INFO=$(grep -m1 '^date:' "$DIR/run-info.txt" | sed 's/^date: //')
    LOAD=$(sed -n 's/.*load average at the end \([0-9.]*\).*/\1/p' "$DIR/run-info.txt" | head -n 1)
    CORES=$(sed -n 's/^machine: \([0-9]*\) cores.*/\1/p' "$DIR/run-info.txt" | head -n 1)
    [[ -z $LOAD ]] || INFO+="; ${CORES:-?} cores, load average $LOAD at the end"
fi

panel_empty() { [[ ! -s $1 ]]; }

{
    echo "$TERM_LINE"
    echo "set output '$OUT'"
    echo "set datafile missing '?'"
    echo "set style fill solid 0.85 border -1"
    echo "set grid ytics lc rgb '#dddddd'"
    echo "set xtics rotate by -30 nomirror"
    echo "set key top left"
    echo "set multiplot layout 1,3 title 'socksify and the tools users have today (medians; ${INFO:-date unknown})'"
    # case 1
    if panel_empty "$TMP/c1.dat"; then
        echo "set title 'case 1: no data'; unset key; plot [0:1][0:1] 2 notitle"
    else
        echo "set title \"case 1: sequential connect+request+close via danted\\n(conns/s, higher is better; none: the client speaks SOCKS5 itself)\""
        echo "unset logscale y; set yrange [0:*]; set offsets 0,0,graph 0.08,0; set boxwidth 0.6; unset key"
        echo "plot '$TMP/c1.dat' using 1:3:xtic(2) with boxes lc rgb '#4477aa' notitle, \\"
        echo "     '' using 1:3:(sprintf('%.0f', \$3)) with labels offset 0,0.8 notitle, \\"
        echo "     '' using 1:(valid(3) ? 1/0 : 0):('n/a') with labels offset 0,0.8 tc rgb '#aa3333' notitle"
    fi
    # case 2
    if panel_empty "$TMP/c2.dat"; then
        echo "set title 'case 2: no data'; unset key; plot [0:1][0:1] 2 notitle"
    else
        echo "set title \"case 2: N concurrent asyncio connects, the proxy delays each by 100 ms\\n(wall seconds, log scale, lower is better)\""
        echo "set logscale y; set yrange [0.005:200]; set offsets 0,0,0,0; set boxwidth 0.38; set key top left"
        echo "plot '$TMP/c2.dat' using (\$1-0.2):3:xtic(2) with boxes lc rgb '#4477aa' title 'N=40', \\"
        echo "     '' using (\$1+0.2):4 with boxes lc rgb '#ee7733' title 'N=400', \\"
        echo "     '' using (\$1-0.2):3:(sprintf('%.2f', \$3)) with labels offset 0,0.8 font ',8' notitle, \\"
        echo "     '' using (\$1+0.2):4:(sprintf('%.2f', \$4)) with labels offset 0,0.8 font ',8' notitle, \\"
        echo "     '' using 1:(valid(3) || valid(4) ? 1/0 : 0.008):('n/a') with labels tc rgb '#aa3333' notitle"
    fi
    # case 3
    if panel_empty "$TMP/c3.dat"; then
        echo "set title 'case 3: no data'; unset key; plot [0:1][0:1] 2 notitle"
    else
        echo "set title \"case 3: start-up cost of /bin/true under each tool\\n(ms per run, lower is better)\""
        echo "unset logscale y; set yrange [0:*]; set offsets 0,0,graph 0.08,0; set boxwidth 0.6; unset key"
        echo "plot '$TMP/c3.dat' using 1:3:xtic(2) with boxes lc rgb '#228833' notitle, \\"
        echo "     '' using 1:3:(sprintf('%.2f', \$3)) with labels offset 0,0.8 notitle, \\"
        echo "     '' using 1:(valid(3) ? 1/0 : 0):('n/a') with labels offset 0,0.8 tc rgb '#aa3333' notitle"
    fi
    echo "unset multiplot"
} > "$TMP/chart.gp"

gnuplot "$TMP/chart.gp" 2> "$TMP/gnuplot.err" || { cat "$TMP/gnuplot.err" >&2; die "gnuplot failed"; }
[[ -s $OUT ]] || die "gnuplot wrote no $OUT"
echo "$ME: wrote $OUT"
