using EigenProNet.Cli;

return EigenProCli.Run(args);
