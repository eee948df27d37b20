// The bootloader's command line (libxl's order) and the parsing of its simple0 answer.
#include <gtest/gtest.h>

#include "helper/boot/Bootloader.h"

using namespace xvirt;
using namespace xvirt::helper;

TEST(Bootloader, ArgvFollowsLibxlOrder) {
  BootloaderRequest q;
  q.program = "/usr/lib/xen-4.17/bin/pygrub";
  q.cmdline = "quiet splash";
  q.extraArgs = "--entry=1 '--kernel=/boot/vmlinuz x'";
  q.interactive = false;
  q.disk = "/srv/g.img";
  q.outputFile = "/tmp/b/answer";
  q.outputDir = "/tmp/b";
  auto argv = bootloaderArgv(q);
  ASSERT_TRUE(argv.ok()) << argv.error().message;
  std::vector<std::string> want = {"/usr/lib/xen-4.17/bin/pygrub", "--args=quiet splash", "-q", "--output=/tmp/b/answer",
                                   "--output-format=simple0", "--output-directory=/tmp/b", "--entry=1",
                                   "--kernel=/boot/vmlinuz x", "/srv/g.img"};
  EXPECT_EQ(*argv, want);
}

TEST(Bootloader, InteractiveWithoutArgsHasNoQuietFlag) {
  BootloaderRequest q{"/bin/pygrub", "", "", "/d.img", true, "/t/a", "/t"};
  auto argv = bootloaderArgv(q);
  ASSERT_TRUE(argv.ok());
  EXPECT_EQ(*argv, (std::vector<std::string>{"/bin/pygrub", "--output=/t/a", "--output-format=simple0",
                                             "--output-directory=/t", "/d.img"}));
}

TEST(Bootloader, UnsplittableArgumentsAreRefused) {
  BootloaderRequest q{"pygrub", "--entry='unterminated", "", "/d.img", true, "/t/a", "/t"};
  auto argv = bootloaderArgv(q);
  ASSERT_FALSE(argv.ok());
  EXPECT_NE(argv.error().message.find("--entry='unterminated"), std::string::npos) << argv.error().message;
}

TEST(Bootloader, ParsesSimple0Answer) {
  std::string out("kernel /t/boot_kernel.x\0ramdisk /t/boot_ramdisk.y\0args root=/dev/xvda1 ro\0\0", 75);
  auto c = parseBootloaderOutput(out);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->kernel, "/t/boot_kernel.x");
  EXPECT_EQ(c->ramdisk, "/t/boot_ramdisk.y");
  EXPECT_EQ(c->cmdline, "root=/dev/xvda1 ro");
}

TEST(Bootloader, AnswerWithoutKernelIsAnError) {
  auto c = parseBootloaderOutput(std::string("args x\0\0", 8));
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().message, "the bootloader named no kernel");
}
