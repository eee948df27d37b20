#include "helper/HelperOptions.h"

#include <gtest/gtest.h>

#include "common/Strings.h"

using namespace xvirt;
using namespace xvirt::helper;

static Result<HelperOptions> parse(const std::string& line) {
  std::vector<std::string> args;
  for (auto& a : split(line, ' '))
    if (!a.empty()) args.push_back(a);
  return parseHelperOptions(args);
}

TEST(HelperOptions, TheThreeDesignCommandLines) {
  auto pv = parse("-name demo -M xenpv -hda demo.img -m 500 -kernel vmlinux -initrd initrd -serial pty");
  ASSERT_TRUE(pv.ok()) << pv.error().message;
  EXPECT_EQ(pv->name, "demo");
  EXPECT_EQ(*pv->memMb, 500u);
  ASSERT_EQ(pv->drives.size(), 1u);
  EXPECT_EQ(pv->drives[0].index, 0);
  EXPECT_EQ(pv->serial, "pty");

  auto grub = parse("-name demo -M xenpv -hda demo.img -m 500 -serial file:demo.log -vnc 0.0.0.0:1");
  ASSERT_TRUE(grub.ok()) << grub.error().message;
  EXPECT_TRUE(grub->kernel.empty());
  EXPECT_EQ(grub->vnc, "0.0.0.0:1");

  std::vector<std::string> hvm = {"-name", "demo", "-M", "xenfv", "-hda", "demo.img", "-m", "500", "-kernel",
                                  "vmlinux", "-initrd", "initrd", "-append", "console=ttyS0", "-serial", "pty",
                                  "-nographic"};
  auto h = parseHelperOptions(hvm);
  ASSERT_TRUE(h.ok()) << h.error().message;
  EXPECT_EQ(h->machine, "xenfv");
  EXPECT_EQ(h->append, "console=ttyS0");
  EXPECT_TRUE(h->nographic);
}

TEST(HelperOptions, QmpAndDriveForms) {
  auto o = parse("-name d -kernel k -qmp unix:/tmp/m.sock,server,nowait -S -drive file=x.img,if=xen,index=1,format=qcow2 "
                 "-drive if=ide,index=2,media=cdrom");
  ASSERT_TRUE(o.ok()) << o.error().message;
  EXPECT_EQ(o->qmpPath, "/tmp/m.sock");
  EXPECT_TRUE(o->startPaused);
  ASSERT_EQ(o->drives.size(), 2u);
  EXPECT_EQ(o->drives[0].format, "qcow2");
  EXPECT_TRUE(o->drives[1].readonly);
  EXPECT_TRUE(parse("-name d -kernel k -qmp unix:/x,server=on,wait=off").ok());
}

TEST(HelperOptions, ErrorsNameTheOption) {
  EXPECT_EQ(parse("-name d -kernel k -bogus").error().message, "-bogus: invalid option");
  EXPECT_EQ(parse("-name d -kernel").error().message, "-kernel: requires an argument");
  EXPECT_EQ(parse("-name d -M pc -kernel k").error().message,
            "-M: unsupported machine type 'pc' (use xenpv, xenfv or xenpvh)");
  EXPECT_EQ(parse("-name d -hda x -append quiet").error().message, "-append: only allowed with the -kernel option");
  EXPECT_EQ(parse("-name d -m 0 -kernel k").error().message, "-m: invalid memory size '0'");
  EXPECT_EQ(parse("-name d -kernel k -serial stdio -daemonize").error().message,
            "-daemonize: cannot be used with a console on stdio");
  EXPECT_EQ(parse("-kernel k").error().message, "-name: a guest name is required");
  EXPECT_EQ(parse("-M xenpv -name d").error().message,
            "-M xenpv: a PV guest needs -kernel, or a disk for the pygrub bootloader");
  EXPECT_FALSE(parse("--config g.json -m 5").ok());
  EXPECT_FALSE(parse("-name d -kernel k -qmp tcp:1.2.3.4:5").ok());
  EXPECT_FALSE(parse("-name d -kernel k -hda a -drive file=b,index=0").ok());
}
