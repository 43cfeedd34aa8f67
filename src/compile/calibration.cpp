// placeholder: calibration lands here.
namespace hdeploy {}
