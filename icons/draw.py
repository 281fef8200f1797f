# Draws Régie's icon (a white R on the app's blue, rounded square) as PNGs of the sizes given,
# supersampled, with no library: `python3 icons/draw.py 512`, then `tauri icon 512x512.png -o icons`
# for the platform sizes (ico, icns).
import zlib, struct, math, sys
BLUE=(0x1f,0x4e,0x79); WHITE=(255,255,255)
def inside_bg(x,y):
    r=0.16; cx=min(max(x,r),1-r); cy=min(max(y,r),1-r)
    return (x-cx)**2+(y-cy)**2<=r*r
def inside_r(x,y):
    # stem
    if 0.28<=x<=0.40 and 0.20<=y<=0.80: return True
    # top and middle bars
    if 0.28<=x<=0.55 and (0.20<=y<=0.31 or 0.47<=y<=0.58): return True
    # bowl: annulus right half centred (0.55,0.39)
    dx=x-0.55; dy=y-0.39; d=math.hypot(dx,dy)
    if dx>=0 and 0.08<=d<=0.19: return True
    # leg: thick segment from (0.50,0.55) to (0.74,0.80)
    ax,ay,bx,by=0.49,0.54,0.73,0.80
    t=max(0,min(1,((x-ax)*(bx-ax)+(y-ay)*(by-ay))/((bx-ax)**2+(by-ay)**2)))
    px,py=ax+t*(bx-ax),ay+t*(by-ay)
    return math.hypot(x-px,y-py)<=0.062
def png(n,path):
    S=3 if n>256 else 4; rows=[]
    for j in range(n):
        row=bytearray([0])
        for i in range(n):
            cov_bg=cov_r=0
            for a in range(S):
                for b in range(S):
                    x=(i+(a+0.5)/S)/n; y=(j+(b+0.5)/S)/n
                    if inside_bg(x,y):
                        cov_bg+=1
                        if inside_r(x,y): cov_r+=1
            tot=S*S; alpha=cov_bg/tot
            if cov_bg: f=cov_r/cov_bg
            else: f=0
            c=[round(BLUE[k]*(1-f)+WHITE[k]*f) for k in range(3)]
            row+=bytes(c+[round(255*alpha)])
        rows.append(bytes(row))
    raw=b''.join(rows)
    def chunk(t,d): return struct.pack('>I',len(d))+t+d+struct.pack('>I',zlib.crc32(t+d)&0xffffffff)
    data=b'\x89PNG\r\n\x1a\n'+chunk(b'IHDR',struct.pack('>IIBBBBB',n,n,8,6,0,0,0))+chunk(b'IDAT',zlib.compress(raw,9))+chunk(b'IEND',b'')
    open(path,'wb').write(data)
for n in map(int,sys.argv[1:]): png(n,f'{n}x{n}.png')
